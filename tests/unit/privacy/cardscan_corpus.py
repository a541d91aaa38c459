"""A generated, labelled corpus of call transcripts for the card scanner (tests and bench/cardscan_bench.py).

Positives: the card networks' published test PANs and random Luhn-valid numbers of each network's lengths, written
plain, grouped with spaces or dashes, read out as spoken digits (with "oh", "zero", "double", "triple") or mixed;
some with an expiry date or a CVV next to them; US SSNs (dashed, spaced, spoken after "social security number").
Negatives: near misses (the same numbers with one digit changed, so the Luhn check fails), phone numbers (US and
E.164), order / tracking / invoice numbers and IMEIs introduced by their name, amounts, dates, times, 20+ digit
references, invalid SSNs (area 000, 666, 9xx) and 9-digit numbers not introduced as an SSN.
Every planted value is labelled with (kind, byte offset, form); `positive` says whether a scanner must find it.
"""

from __future__ import annotations

import dataclasses
import random

# Published test numbers (Stripe, PayPal/Braintree, Adyen test card lists).
TEST_PANS = [
    "4111111111111111", "4012888888881881", "4222222222222", "4000056655665556", "4242424242424242",
    "5555555555554444", "5105105105105100", "2223003122003222", "2221000000000009", "5200828282828210",
    "378282246310005", "371449635398431", "378734493671000", "6011111111111117", "6011000990139424",
    "6011981111111113", "3530111333300000", "3566002020360505", "30569309025904", "38520000023237",
    "36227206271667", "6200000000000005", "6250941006528599", "4000000000000010", "6445644564456445",
]
# (brand prefix, lengths) for random Luhn-valid numbers.
NETWORKS = [("4", (13, 16, 19)), ("51", (16,)), ("55", (16,)), ("2720", (16,)), ("34", (15,)), ("37", (15,)),
            ("6011", (16, 19)), ("65", (16,)), ("3528", (16,)), ("36", (14,)), ("62", (16, 17, 18, 19))]
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
FILLER = [
    "hi thanks for calling the clinic", "I would like to book an appointment for next week",
    "can I have one moment please", "sure let me check the calendar", "we have two slots on Tuesday",
    "my name is Maria and I am a patient", "the doctor will see you at four", "is there parking nearby",
    "I need to pay the invoice from last month", "okay I will read it out", "can you repeat that please",
    "perfect thank you so much", "have a nice day", "we open at nine and close at six", "room 101 on the first floor",
    "it costs $1,234.56 in total", "the call started at 12:15:33 on 2026-12-03", "press one for billing",
    "I am calling about my order", "my daughter is seven years old", "oh I see", "that is fine",
]

CARD_FORMS = ("plain", "spaced", "dashed", "spoken", "spoken_oh", "spoken_double", "mixed")


def luhn_check_digit(body: str) -> str:
    total = 0
    for pos, char in enumerate(reversed(body)):
        d = int(char)
        if pos % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def random_pan(rng: random.Random) -> str:
    prefix, lengths = rng.choice(NETWORKS)
    length = rng.choice(lengths)
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return body + luhn_check_digit(body)


def near_miss(pan: str, rng: random.Random) -> str:
    """The same number with its last digit changed: never Luhn-valid (the check digit is unique)."""
    wrong = rng.choice([d for d in "0123456789" if d != pan[-1]])
    return pan[:-1] + wrong


def groups(pan: str) -> list[str]:
    if len(pan) == 15:
        return [pan[:4], pan[4:10], pan[10:]]
    if len(pan) == 14:
        return [pan[:4], pan[4:10], pan[10:]]
    return [pan[i:i + 4] for i in range(0, len(pan), 4)]


def spoken(digits: str, rng: random.Random, oh: bool = False, doubles: bool = False) -> str:
    out, i = [], 0
    while i < len(digits):
        d = digits[i]
        run = 1
        while i + run < len(digits) and digits[i + run] == d and run < 3:
            run += 1
        word = ("oh" if rng.random() < 0.7 else "zero") if (d == "0" and oh) else WORDS[int(d)]
        if doubles and run >= 2:
            out.append(("triple " if run == 3 else "double ") + word)
            i += run
            continue
        out.append(word)
        i += 1
    sep = rng.choice([" ", " ", ", "])
    return sep.join(out)


def write_card(pan: str, form: str, rng: random.Random) -> str:
    if form == "plain":
        return pan
    if form == "spaced":
        return " ".join(groups(pan))
    if form == "dashed":
        return "-".join(groups(pan))
    if form == "spoken":
        return spoken(pan, rng)
    if form == "spoken_oh":
        return spoken(pan, rng, oh=True)
    if form == "spoken_double":
        return spoken(pan, rng, oh=True, doubles=True)
    parts = groups(pan)   # mixed: some groups as digits, some spoken
    return " ".join(p if k % 2 == 0 else spoken(p, rng) for k, p in enumerate(parts))


def random_ssn(rng: random.Random) -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


@dataclasses.dataclass
class Planted:
    kind: str        # card / ssn / negative
    form: str
    offset: int
    length: int
    positive: bool


@dataclasses.dataclass
class Corpus:
    text: bytes
    planted: list[Planted]


def _negative(rng: random.Random) -> tuple[str, str, str]:
    """(form, text before, the value) of a value a scanner must not report."""
    pan = rng.choice(TEST_PANS) if rng.random() < 0.5 else random_pan(rng)
    choice = rng.randrange(12)
    if choice == 0:
        return "near_miss_plain", "my card is ", near_miss(pan, rng)
    if choice == 1:
        return "near_miss_spaced", "the number is ", " ".join(groups(near_miss(pan, rng)))
    if choice == 2:
        return "near_miss_spoken", "it is ", spoken(near_miss(pan, rng), rng, oh=True)
    if choice == 3:
        return "phone_us", "call me back on ", f"({rng.randint(200, 999)}) {rng.randint(200, 999)}-" \
                                              f"{rng.randint(0, 9999):04d}"
    if choice == 4:
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(9, 12)))
        return "phone_e164", "my mobile is ", f"+{rng.randint(2, 6)}{rng.randint(0, 9)} {digits[:3]} {digits[3:]}"
    if choice == 5:
        return "order", rng.choice(["order number ", "order #", "invoice no. ", "tracking number ", "ref "]), \
            random_pan(rng)
    if choice == 6:
        return "order_amazon", "your order ", f"{rng.randint(100, 999)}-{rng.randint(0, 9999999):07d}-" \
                                              f"{rng.randint(0, 9999999):07d}"
    if choice == 7:
        body = "35" + "".join(rng.choice("0123456789") for _ in range(12))
        return "imei", "the IMEI is ", body + luhn_check_digit(body)
    if choice == 8:
        return "long_reference", "reference code ", "".join(rng.choice("0123456789") for _ in range(22))
    if choice == 9:
        area = rng.choice(["000", "666", f"9{rng.randint(0, 99):02d}"])
        return "ssn_invalid", "the number is ", f"{area}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    if choice == 10:
        return "nine_digits", "member id ", f"{rng.randint(100000000, 999999999)}"
    return "usps_tracking", "tracking ", "9400 " + " ".join(f"{rng.randint(0, 9999):04d}" for _ in range(4)) + " 00"


def generate(size_bytes: int = 200_000, seed: int = 18, positive_share: float = 0.3) -> Corpus:
    """About `size_bytes` of transcript lines, with labelled values planted between ordinary sentences."""
    rng = random.Random(seed)
    out, planted, length = [], [], 0

    def put(text: str) -> int:
        nonlocal length
        start = length
        data = text.encode("ascii")
        out.append(data)
        length += len(data)
        return start

    while length < size_bytes:
        put(f"[{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}] caller: {rng.choice(FILLER)}. ")
        roll = rng.random()
        if roll < positive_share * 0.85:
            pan = rng.choice(TEST_PANS) if rng.random() < 0.4 else random_pan(rng)
            form = rng.choice(CARD_FORMS)
            put(rng.choice(["my card number is ", "it's ", "the card is ", "okay ", "", "visa "]))
            written = write_card(pan, form, rng)
            offset = put(written)
            planted.append(Planted("card", form, offset, len(written), True))
            tail = rng.random()
            if tail < 0.3:
                put(f" expiry {rng.randint(1, 12):02d}/{rng.randint(26, 31)}")
            elif tail < 0.5:
                put(f" and the cvv is {rng.randint(100, 999)}")
        elif roll < positive_share:
            form = rng.choice(["ssn_dashed", "ssn_spaced", "ssn_spoken"])
            ssn = random_ssn(rng)
            if form == "ssn_spaced":
                ssn = ssn.replace("-", " ")
            if form == "ssn_spoken":
                put("my social security number is ")
                ssn = spoken(ssn.replace("-", ""), rng)
            else:
                put(rng.choice(["ssn ", "it is ", "number ", ""]))
            offset = put(ssn)
            planted.append(Planted("ssn", form, offset, len(ssn), True))
        else:
            form, before, value = _negative(rng)
            put(before)
            offset = put(value)
            planted.append(Planted("negative", form, offset, len(value), False))
        put(".\n")
    return Corpus(b"".join(out), planted)


def score(corpus: Corpus, findings: list[dict]) -> dict:
    """Precision and recall of `findings` ({kind, offset}) against the planted values; per form too."""
    positives = {(p.kind, p.offset): p for p in corpus.planted if p.positive}
    found = {(f["kind"], f["offset"]) for f in findings}
    true_pos = found & set(positives)
    false_pos = found - set(positives)
    by_form: dict[str, dict] = {}
    for p in corpus.planted:
        entry = by_form.setdefault(p.form, {"planted": 0, "found": 0, "positive": p.positive})
        entry["planted"] += 1
        entry["found"] += (p.kind, p.offset) in true_pos if p.positive else any(
            p.offset <= off < p.offset + p.length for _kind, off in false_pos)
    return {"positives": len(positives), "findings": len(found), "true_positives": len(true_pos),
            "false_positives": len(false_pos),
            "precision": len(true_pos) / len(found) if found else 1.0,
            "recall": len(true_pos) / len(positives) if positives else 1.0, "by_form": by_form}

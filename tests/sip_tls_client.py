"""A small SIP-over-TLS user agent for the voice edge tests: Python's standard library only, so that it also runs
inside the lab containers (``podman exec -i <host> python3 - <args> < tests/sip_tls_client.py``).

It speaks RFC 3261 over one TLS connection (RFC 3261 section 18: a request's responses come back on the connection
it was sent on, RFC 3581 rport), computes RFC 2617 / RFC 7616 MD5 digest answers (qop=auth), and returns what it
received as plain data, so the tests assert on real SIP status codes:

    with SipClient("10.89.0.2", 5061) as client:
        client.register("101", "sip.lab.example", password="...")   # -> [401, 200]
        client.invite("100", "sip.lab.example", sdp=savp_offer(...), user="101", password="...")

CLI (prints one JSON object): ``sip_tls_client.py HOST PORT register|invite|options|tls-version|flood ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import secrets
import socket
import ssl
import sys
import time

CRLF = "\r\n"


def _token() -> str:
    return secrets.token_hex(8)


def savp_offer(address: str, port: int = 40000, transport: str = "RTP/SAVP") -> str:
    """An SDP offer of one audio stream (PCMU) over `transport`; SDES crypto (RFC 4568) when it is SRTP."""
    key = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"  # 40 base64 chars = 30 bytes: key + salt of AES_CM_128
    lines = ["v=0", f"o=- {secrets.randbelow(10**9)} 1 IN IP4 {address}", "s=-", f"c=IN IP4 {address}", "t=0 0",
             f"m=audio {port} {transport} 0 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000",
             "a=sendrecv"]
    if "SAVP" in transport:
        lines.append(f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}")
    return CRLF.join(lines) + CRLF


def tls_version_accepted(host: str, port: int, version: str, timeout: float = 5.0) -> dict:
    """Offer exactly one TLS version; {"accepted": bool, "version": negotiated, "error": text}."""
    versions = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
                "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = context.maximum_version = versions[version]
    context.set_ciphers("ALL:@SECLEVEL=0")  # let the client offer old versions: the server must refuse them
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, context.wrap_socket(raw) as tls:
            return {"accepted": True, "version": tls.version(), "cipher": tls.cipher()[0], "error": ""}
    except (OSError, ssl.SSLError) as exc:
        return {"accepted": False, "version": None, "cipher": None, "error": str(exc)}


class SipResponse:
    def __init__(self, text: str):
        head, _, self.body = text.partition(CRLF + CRLF)
        lines = head.split(CRLF)
        parts = lines[0].split(" ", 2)
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.append((name.strip().lower(), value.strip()))

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name.lower():
                return value
        return None

    def as_dict(self) -> dict:
        return {"status": self.status, "reason": self.reason, "headers": self.headers, "body": self.body}


def digest_answer(challenge: str, method: str, uri: str, user: str, password: str) -> str:
    """The Authorization / Proxy-Authorization value for a Digest challenge (MD5, qop=auth when offered)."""
    fields = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge.split(" ", 1)[1]))
    realm, nonce = fields["realm"], fields["nonce"]
    ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode(), usedforsecurity=False).hexdigest()
    answer = f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm=MD5'
    if "auth" in fields.get("qop", "").split(","):
        cnonce, nc = _token(), "00000001"
        response = hashlib.md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode(), usedforsecurity=False).hexdigest()
        answer += f', qop=auth, nc={nc}, cnonce="{cnonce}", response="{response}"'
    else:
        response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode(), usedforsecurity=False).hexdigest()
        answer += f', response="{response}"'
    if "opaque" in fields:
        answer += f', opaque="{fields["opaque"]}"'
    return answer


class SipClient:
    """One TLS connection to a SIP server; requests are sent on it and their responses read from it."""

    def __init__(self, host: str, port: int = 5061, timeout: float = 5.0, user_agent: str = "aiphone-test/1.0"):
        self.host, self.port, self.timeout, self.user_agent = host, port, timeout, user_agent
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE   # the tests check the protocol, not the lab's self-signed certificate
        self.sock = context.wrap_socket(socket.create_connection((host, port), timeout=timeout))
        self.local = self.sock.getsockname()
        self.buffer = b""
        self.call_id = _token() + "@aiphone-test"
        self.cseq = 0

    def __enter__(self) -> SipClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    # -- wire --------------------------------------------------------------------------------------------------
    def send(self, text: str) -> None:
        self.sock.sendall(text.encode())

    def receive(self, timeout: float | None = None) -> SipResponse | None:
        """The next SIP message on the connection (a response), or None when nothing came within `timeout`."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end >= 0:
                head = self.buffer[:head_end].decode(errors="replace")
                match = re.search(r"^(?:content-length|l)\s*:\s*(\d+)", head, re.IGNORECASE | re.MULTILINE)
                length = int(match.group(1)) if match else 0
                total = head_end + 4 + length
                if len(self.buffer) >= total:
                    message, self.buffer = self.buffer[:total].decode(errors="replace"), self.buffer[total:]
                    if message.startswith("SIP/2.0 "):
                        return SipResponse(message)
                    continue  # a request from the server (none expected in these tests): skipped
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return None
            except (ssl.SSLError, OSError):
                return None
            if not chunk:
                return None
            self.buffer += chunk

    # -- requests ----------------------------------------------------------------------------------------------
    def request(self, method: str, uri: str, *, from_uri: str, to_uri: str, extra: list[str] = (), body: str = "",
                content_type: str = "application/sdp", branch: str | None = None, cseq: int | None = None,
                from_tag: str | None = None) -> str:
        self.cseq = cseq if cseq is not None else self.cseq + 1
        self.from_tag = from_tag or getattr(self, "from_tag", None) or _token()
        self.branch = branch or "z9hG4bK" + _token()
        lines = [f"{method} {uri} SIP/2.0",
                 f"Via: SIP/2.0/TLS {self.local[0]}:{self.local[1]};branch={self.branch};rport",
                 "Max-Forwards: 70", f"From: <{from_uri}>;tag={self.from_tag}", f"To: <{to_uri}>",
                 f"Call-ID: {self.call_id}", f"CSeq: {self.cseq} {method}",
                 f"Contact: <sip:{from_uri.split(':', 1)[1].split('@')[0]}@{self.local[0]}:{self.local[1]};"
                 "transport=tls>", f"User-Agent: {self.user_agent}", *extra]
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body.encode())}")
        text = CRLF.join(lines) + CRLF + CRLF + body
        self.send(text)
        return text

    def final_response(self, timeout: float | None = None) -> list[SipResponse]:
        """Responses until a final one (>= 200) or silence; provisional ones included."""
        responses = []
        while True:
            response = self.receive(timeout)
            if response is None:
                return responses
            responses.append(response)
            if response.status >= 200:
                return responses

    def _authenticated(self, method: str, uri: str, user: str | None, password: str | None, send) -> list:
        responses = send([])
        last = responses[-1] if responses else None
        if last is None or last.status not in (401, 407) or user is None:
            return responses
        header = "www-authenticate" if last.status == 401 else "proxy-authenticate"
        answer = "Authorization" if last.status == 401 else "Proxy-Authorization"
        if last.status == 407 and method == "INVITE":
            self._ack(uri, last)
        auth = digest_answer(last.header(header), method, uri, user, password)
        return responses + send([f"{answer}: {auth}"])

    def register(self, user: str, domain: str, password: str | None = None, auth_user: str | None = None,
                 expires: int = 300) -> list[SipResponse]:
        uri, aor = f"sip:{domain}", f"sip:{user}@{domain}"

        def send(extra):
            self.request("REGISTER", uri, from_uri=aor, to_uri=aor, extra=[f"Expires: {expires}", *extra])
            return self.final_response()
        return self._authenticated("REGISTER", uri, auth_user or user if password is not None else None,
                                   password, send)

    def invite(self, target: str, domain: str, sdp: str, user: str, password: str | None = None,
               from_domain: str | None = None) -> list[SipResponse]:
        uri, caller = f"sip:{target}@{domain}", f"sip:{user}@{from_domain or domain}"

        def send(extra):
            self.request("INVITE", uri, from_uri=caller, to_uri=uri, extra=extra, body=sdp)
            return self.final_response(timeout=max(self.timeout, 8.0))
        responses = self._authenticated("INVITE", uri, user if password is not None else None, password, send)
        self.invite_uri, self.invite_caller = uri, caller
        return responses

    def _ack(self, uri: str, response: SipResponse) -> None:
        """ACK of a non-2xx final response (same branch and CSeq number, the To tag of the response)."""
        to = response.header("to")
        lines = [f"ACK {uri} SIP/2.0", f"Via: SIP/2.0/TLS {self.local[0]}:{self.local[1]};branch={self.branch};rport",
                 "Max-Forwards: 70", f"From: {response.header('from')}", f"To: {to}", f"Call-ID: {self.call_id}",
                 f"CSeq: {self.cseq} ACK", "Content-Length: 0"]
        self.send(CRLF.join(lines) + CRLF + CRLF)

    def options(self, domain: str, user: str = "probe") -> list[SipResponse]:
        uri = f"sip:{domain}"
        self.request("OPTIONS", uri, from_uri=f"sip:{user}@{domain}", to_uri=uri)
        return self.final_response()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("action", choices=["register", "invite", "options", "tls-version", "wrong-passwords",
                                           "flood"])
    parser.add_argument("--domain", default="sip.lab.example")
    parser.add_argument("--user", default="101")
    parser.add_argument("--password")
    parser.add_argument("--target", default="100")
    parser.add_argument("--transport", default="RTP/SAVP")
    parser.add_argument("--user-agent", default="aiphone-test/1.0")
    parser.add_argument("--version", default="TLSv1.2")
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    if args.action == "tls-version":
        print(json.dumps(tls_version_accepted(args.host, args.port, args.version)))
        return 0
    result: dict = {}
    try:
        if args.action == "wrong-passwords":
            statuses = []
            errors = []
            for attempt in range(args.count):
                try:
                    with SipClient(args.host, args.port, args.timeout, args.user_agent) as client:
                        statuses.append([r.status for r in client.register(args.user, args.domain,
                                                                           f"wrong-{attempt}-{_token()}")])
                except OSError as exc:   # banned by fail2ban already: the connection itself is refused or dropped
                    statuses.append([])
                    errors.append(f"attempt {attempt + 1}: {exc}")
            result = {"statuses": statuses, "errors": errors}
        elif args.action == "flood":
            sent = answered = 0
            with SipClient(args.host, args.port, args.timeout, args.user_agent) as client:
                for _ in range(args.count):
                    client.request("OPTIONS", f"sip:{args.domain}", from_uri=f"sip:flood@{args.domain}",
                                   to_uri=f"sip:{args.domain}")
                    sent += 1
                while client.receive(timeout=2.0) is not None:
                    answered += 1
            result = {"sent": sent, "answered": answered}
        else:
            with SipClient(args.host, args.port, args.timeout, args.user_agent) as client:
                if args.action == "register":
                    responses = client.register(args.user, args.domain, args.password)
                elif args.action == "invite":
                    sdp = savp_offer(client.local[0], transport=args.transport)
                    responses = client.invite(args.target, args.domain, sdp, args.user, args.password)
                else:
                    responses = client.options(args.domain)
                result = {"statuses": [r.status for r in responses], "responses": [r.as_dict() for r in responses]}
    except OSError as exc:
        result["error"] = str(exc)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The transport and the string matching: garak (NVIDIA's LLM vulnerability scanner, PyPI `garak`, pinned in
requirements-garak.txt and installed without its model dependencies by scripts/setup.sh).

Used as a library, from its source (garak 0.17.1):
  - `garak.generators.rest.RestGenerator` (the generator `--target_type rest` selects), configured through its
    plugin config as garak's CLI would: `uri`, `req_template_json_object` (the JSON body; garak puts the prompt at
    `$INPUT`, JSON-escaped, and the API key at `$KEY`), `headers` (here the auth header, `Bearer $KEY`),
    `api_key`, `response_json` / `response_json_field` (a JSONPath when it starts with `$`), `request_timeout`,
    `skip_codes` and `ratelimit_codes` (both empty: a 4xx raises garak's "REST URI client error: <code>"; 400 and
    422 are the agent refusing the request - a defence - everything else an error; a reply without the response
    field, which garak returns as no output, is an error too);
  - `garak.attempt.Attempt` / `Message` / `Conversation` and `garak.detectors.base.StringDetector`.
No garak probe, harness, buff or model is loaded: no torch, no download, no report files.

garak's REST template knows only `$INPUT` and `$KEY`; the caller fields ($CALLER_NAME ...) are filled in here,
per probe, into the template object before garak sees it (and a value that would itself read as a garak
placeholder is refused). Isolation: before garak is first imported its log goes to /dev/null
(`GARAK_LOG_FILE`) and its XDG directories to a private temporary directory removed at exit, so neither a reply
nor the request headers are ever written by garak; what garak prints while loading is swallowed (a module's
stdout is its JSON result). Retrying is ours, not garak's: its endless back-off on 5xx and 429 is switched off
(`retry_5xx`, `ratelimit_codes: []`), and the rate limit of the policy paces the requests.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import io
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import PLACEHOLDER_RE, AiAgent

GARAK_VERSION = "0.17.1"
REFUSAL_CODES = (400, 422)        # the agent refused the request as invalid: a defence, not an error
# garak's RestGenerator raises ConnectionError("REST URI client error: <code> - <reason>, uri: ...") on a 4xx
CLIENT_ERROR = re.compile(r"REST URI client error: (\d{3}) ")
REPLY, REFUSED, ERROR = "reply", "refused", "error"
GARAK_PLACEHOLDERS = ("$INPUT", "$KEY")

_garak = None


class EngineError(RuntimeError):
    """garak is missing, or the request cannot be built; the message says what to do."""


def _load():
    """garak's modules, imported once with its log and directories isolated (see the module docstring)."""
    global _garak
    if _garak is not None:
        return _garak
    home = tempfile.mkdtemp(prefix="aiphone-garak-")
    atexit.register(shutil.rmtree, home, True)
    for variable, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache")):
        os.environ[variable] = os.path.join(home, sub)
    os.environ["GARAK_LOG_FILE"] = os.devnull
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import garak
            from garak.attempt import Attempt, Conversation, Message, Turn
            from garak.detectors.base import StringDetector
            from garak.generators.rest import RestGenerator
    except ImportError as exc:
        raise EngineError(f"garak is not installed on the controller ({exc}): run scripts/setup.sh, which installs "
                          "requirements-garak.txt without its model dependencies") from exc
    _garak = {"version": garak.__version__, "Attempt": Attempt, "Conversation": Conversation, "Message": Message,
              "Turn": Turn, "StringDetector": StringDetector, "RestGenerator": RestGenerator}
    return _garak


def version() -> str:
    return _load()["version"]


def attempt_of(prompt: str, reply: str | None):
    """A garak Attempt holding one prompt and one reply (None: no output)."""
    g = _load()
    attempt = g["Attempt"](prompt=g["Message"](prompt))
    attempt.outputs = [g["Message"](reply) if reply is not None else None]
    return attempt


def string_detector(substrings: list[str]):
    with contextlib.redirect_stdout(io.StringIO()):
        detector = _load()["StringDetector"](substrings, config_root={"detectors": {}})
    detector.case_sensitive = False
    return detector


def fill_template(template, values: dict[str, str]):
    """The template with $CALLER_NAME, $CALLBACK_NUMBER, $APPOINTMENT_TYPE, $APPOINTMENT_NOTES replaced by the
    probe's values in every string (keys untouched); $INPUT is left for garak."""
    for value in values.values():
        if any(p in value for p in GARAK_PLACEHOLDERS):
            raise EngineError(f"a probe value may not contain {' or '.join(GARAK_PLACEHOLDERS)}: {value[:40]!r}")

    def fill(item):
        if isinstance(item, dict):
            return {key: fill(value) for key, value in item.items()}
        if isinstance(item, list):
            return [fill(value) for value in item]
        if isinstance(item, str):
            return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), item)
        return item
    return fill(copy.deepcopy(template))


@dataclass
class Reply:
    status: str            # REPLY, REFUSED (HTTP 400/422), ERROR
    text: str | None = None
    error: str | None = None
    seconds: float = 0.0


class RestEngine:
    """Sends one probe at a time through garak's REST generator, at most `rate_limit_per_minute` a minute."""

    def __init__(self, agent: AiAgent, token: str | None):
        if agent.token_var and not token:
            raise EngineError(f"the agent needs its token (vault variable {agent.token_var}) and none was given")
        self.agent, self._token = agent, token
        self.interval = 60.0 / agent.rate_limit_per_minute
        self._last = 0.0
        self.version = version()

    def _config(self, body: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.agent.token_var and self.agent.auth_scheme != "none":
            headers[self.agent.auth_header] = f"{self.agent.auth_scheme} $KEY"
        elif self.agent.token_var:
            headers[self.agent.auth_header] = "$KEY"
        rest = {"uri": self.agent.url, "req_template_json_object": body, "headers": headers,
                "response_json": True, "response_json_field": self.agent.response_field,
                "request_timeout": self.agent.timeout_seconds, "skip_codes": [], "ratelimit_codes": [],
                "api_key": self._token or "unused"}
        return {"generators": {"rest": {"RestGenerator": rest}}}

    def send(self, utterance: str, fields: dict[str, str]) -> Reply:
        g = _load()
        body = fill_template(self.agent.request_template, {
            "CALLER_NAME": fields["caller_name"], "CALLBACK_NUMBER": fields["callback_number"],
            "APPOINTMENT_TYPE": fields["appointment_type"], "APPOINTMENT_NOTES": fields["appointment_notes"]})
        wait = self._last + self.interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        started = self._last = time.monotonic()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                generator = g["RestGenerator"](config_root=self._config(body))
            generator.retry_5xx = False
            conversation = g["Conversation"]([g["Turn"]("user", g["Message"](utterance))])
            outputs = generator.generate(conversation, 1)
        except Exception as exc:
            refused = CLIENT_ERROR.search(str(exc))
            if isinstance(exc, ConnectionError) and refused and int(refused.group(1)) in REFUSAL_CODES:
                return Reply(REFUSED, error=f"HTTP {refused.group(1)}", seconds=time.monotonic() - started)
            return Reply(ERROR, error=self._clean(f"{type(exc).__name__}: {exc}"),
                         seconds=time.monotonic() - started)
        seconds = time.monotonic() - started
        if not outputs or outputs[0] is None or outputs[0].text is None:
            return Reply(ERROR, error=f"the reply has nothing at response_field {self.agent.response_field}",
                         seconds=seconds)
        return Reply(REPLY, text=outputs[0].text, seconds=seconds)

    def _clean(self, message: str) -> str:
        """An error message without the token (garak's messages quote URIs and response bodies, never headers;
        masked all the same)."""
        return message.replace(self._token, "********")[:300] if self._token else message[:300]

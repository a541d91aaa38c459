"""A tiny SIP UAS over TLS standing in for the AI voice agent behind the voice edge (tests only; standard library,
runs inside a lab container): ``python3 sip_test_agent.py --cert C --key K --port 5061 --log /tmp/agent.jsonl``.

It answers INVITE with 100 Trying then 200 OK carrying an SRTP (RTP/SAVP, SDES) answer, BYE/OPTIONS with 200, and
takes ACK silently (RFC 3261 sections 8.2, 13.3, 17.2). Every request it receives is appended to the log as one JSON
object (method, request line, headers, body, source), so a test can prove what reached the agent - and what did not.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import socket
import ssl
import threading

CRLF = "\r\n"


def _answer_sdp(address: str) -> str:
    lines = ["v=0", f"o=agent {secrets.randbelow(10**9)} 1 IN IP4 {address}", "s=-", f"c=IN IP4 {address}", "t=0 0",
             "m=audio 41000 RTP/SAVP 0", "a=rtpmap:0 PCMU/8000",
             "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0", "a=sendrecv"]
    return CRLF.join(lines) + CRLF


def _response(request_head: list[str], status: str, tag: str, body: str = "", contact: str = "") -> str:
    keep = [line for line in request_head[1:]
            if re.match(r"^(via|v|from|f|to|t|call-id|i|cseq|record-route)\s*:", line, re.IGNORECASE)]
    lines = [f"SIP/2.0 {status}"]
    for line in keep:
        if re.match(r"^(to|t)\s*:", line, re.IGNORECASE) and ";tag=" not in line:
            line += f";tag={tag}"
        lines.append(line)
    if contact:
        lines.append(f"Contact: <{contact}>")
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return CRLF.join(lines) + CRLF + CRLF + body


def serve_connection(conn: ssl.SSLSocket, peer, log_path: str, address: str, lock: threading.Lock) -> None:
    buffer = b""
    tag = secrets.token_hex(6)
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                head_end = buffer.find(b"\r\n\r\n")
                head = buffer[:head_end].decode(errors="replace")
                match = re.search(r"^(?:content-length|l)\s*:\s*(\d+)", head, re.IGNORECASE | re.MULTILINE)
                total = head_end + 4 + (int(match.group(1)) if match else 0)
                if len(buffer) < total:
                    break
                body = buffer[head_end + 4:total].decode(errors="replace")
                buffer = buffer[total:]
                lines = head.split(CRLF)
                if not lines[0] or lines[0].startswith("SIP/2.0"):
                    continue
                method = lines[0].split(" ", 1)[0]
                with lock, open(log_path, "a") as handle:
                    handle.write(json.dumps({"method": method, "request_line": lines[0], "headers": lines[1:],
                                             "body": body, "source": list(peer)}) + "\n")
                if method == "INVITE":
                    conn.sendall(_response(lines, "100 Trying", tag).encode())
                    conn.sendall(_response(lines, "200 OK", tag, _answer_sdp(address),
                                           f"sip:agent@{address}:{conn.getsockname()[1]};transport=tls").encode())
                elif method != "ACK":
                    conn.sendall(_response(lines, "200 OK", tag).encode())
    except (OSError, ssl.SSLError):
        return
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--port", type=int, default=5061)
    parser.add_argument("--address", default="0.0.0.0")
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(args.cert, args.key)
    server = socket.create_server((args.address, args.port), reuse_port=False)
    lock = threading.Lock()
    own_address = socket.gethostbyname(socket.gethostname())
    while True:
        raw, peer = server.accept()
        try:
            conn = context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            continue
        threading.Thread(target=serve_connection, args=(conn, peer, args.log, own_address, lock), daemon=True).start()


if __name__ == "__main__":
    main()

"""A loopback SNS for tests: RSA keys, self-signed certificates served over HTTP on 127.0.0.1,
and SES notifications signed the way AWS documents it (the string to sign is written here
independently of ``channels.mail.sns``). A pytest plugin (``pytest_plugins`` in conftest): the
fixtures ``peer`` and ``keys`` reach every test by name; test modules import only the helpers."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from channels.mail.sns import SnsVerifier
from koho import clock

TOPIC = "arn:aws:sns:ap-northeast-1:123456789012:koho-ses-feedback"
OTHER_TOPIC = "arn:aws:sns:ap-northeast-1:999999999999:someone-else"


# -- the peer ------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.seen.append(self.path)
        status, body = self.server.files.get(self.path.split("?")[0], (404, b"not here"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def peer():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.files, server.seen = {}, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def keys():
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]


def certificate(key, valid_from: datetime, valid_to: datetime) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def serve_cert(peer, key, expired: bool = False) -> str:
    """A fresh certificate URL on the peer (fresh so no verifier has it cached)."""
    now = datetime.now(UTC)
    day = timedelta(days=1)
    span = (now - 10 * day, now - day) if expired else (now - day, now + 30 * day)
    path = f"/SimpleNotificationService-{uuid.uuid4().hex}.pem"
    peer.files[path] = (200, certificate(key, *span))
    return peer.base + path


def signed(kind: str, key, cert_url: str, version: str = "1", topic: str = TOPIC, **fields) -> dict:
    """An SNS envelope signed as AWS documents: ``key\\nvalue\\n`` over the type's keys."""
    message = {
        "Type": kind,
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic,
        # koho's (pinned) clock, which the age check compares with; not the machine's date
        "Timestamp": clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "SignatureVersion": version,
        "SigningCertURL": cert_url,
        **fields,
    }
    keys = (
        ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        if kind == "Notification"
        else ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    )
    text = "".join(f"{k}\n{message[k]}\n" for k in keys if k in message)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    message["Signature"] = base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), digest)).decode()
    return message


def bounce(bounce_type: str, *addresses: str, field: str = "notificationType") -> str:
    return json.dumps(
        {
            field: "Bounce",
            "mail": {"messageId": "0100-test", "destination": list(addresses)},
            "bounce": {
                "bounceType": bounce_type,
                "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": a, "status": "5.1.1"} for a in addresses],
            },
        }
    )


def complaint(*addresses: str, field: str = "notificationType") -> str:
    return json.dumps(
        {
            field: "Complaint",
            "mail": {"messageId": "0100-test"},
            "complaint": {
                "complainedRecipients": [{"emailAddress": a} for a in addresses],
                "complaintFeedbackType": "abuse",
            },
        }
    )


def loopback_verifier() -> SnsVerifier:
    """A verifier for TOPIC that fetches certificates from the peer (loopback, plain HTTP)."""
    return SnsVerifier([TOPIC], host_pattern=r"127\.0\.0\.1", schemes=("http",))

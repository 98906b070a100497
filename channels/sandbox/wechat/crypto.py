"""The emulator's own implementation of WeChat's message signing and encryption (WXBizMsgCrypt),
written from the protocol reference and checked against the official test vectors. It shares no
code with the bot's side (which uses wechatpy), so a mistake on one side is caught by the other.

* signature     = sha1 of the sorted, concatenated [token, timestamp, nonce]
* msg_signature = sha1 of the sorted, concatenated [token, timestamp, nonce, Encrypt]
* AES-256-CBC, key = base64(EncodingAESKey + "="), IV = key[:16]
* plaintext     = random(16) | len(msg) as uint32 big-endian | msg | appid, PKCS#7-padded to 32
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class CryptoError(ValueError):
    """A message that does not decrypt, is badly padded or is addressed to another appid."""


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise CryptoError("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise CryptoError("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise CryptoError("EncodingAESKey does not decode to 32 bytes")
    return key


class MessageCrypt:
    def __init__(self, token: str, encoding_aes_key: str, appid: str) -> None:
        self.token = token
        self.key = aes_key(encoding_aes_key)
        self.appid = appid

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        random16 = os.urandom(16) if random16 is None else random16
        if len(random16) != 16:
            raise ValueError("the random prefix is 16 bytes")
        body = message.encode("utf-8")
        plain = random16 + struct.pack(">I", len(body)) + body + self.appid.encode("utf-8")
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("Encrypt is not base64") from exc
        if not data or len(data) % 16:
            raise CryptoError("ciphertext length is not a multiple of the AES block")
        dec = self._cipher().decryptor()
        plain = dec.update(data) + dec.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad PKCS#7 padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise CryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        body, appid = plain[20:20 + length], plain[20 + length:]
        if len(body) != length:
            raise CryptoError("declared length exceeds the plaintext")
        if appid.decode("utf-8", "replace") != self.appid:
            raise CryptoError("message is addressed to another appid")
        return body.decode("utf-8")

    def msg_signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return sha1_signature(self.token, timestamp, nonce, encrypted)

    def envelope(self, message: str, timestamp: str, nonce: str, to_user: str) -> tuple[str, str]:
        """An encrypted callback body and its msg_signature, as WeChat posts it."""
        encrypted = self.encrypt(message)
        body = (f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        return body, self.msg_signature(timestamp, nonce, encrypted)

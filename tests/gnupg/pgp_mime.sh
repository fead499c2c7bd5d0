# Sourced by the card tests: RFC 3156 messages built from gpg's own output.
# pgp_mime_encrypted TO ARMORED_FILE: a multipart/encrypted message from Bob to TO around the
# armored OpenPGP message in ARMORED_FILE, on standard output (CRLF).
pgp_mime_encrypted() {
    printf 'From: <bob@example.org>\r\nTo: <%s>\r\nSubject: s\r\nMIME-Version: 1.0\r\n' "$1"
    printf 'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="B"\r\n\r\n'
    printf -- '--B\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--B\r\n'
    printf 'Content-Type: application/octet-stream\r\n\r\n'
    cat "$2"
    printf '\r\n--B--\r\n'
}

from contrib.github.signature import signature_for, signature_is_valid

# GitHub's documented test vector for X-Hub-Signature-256.
SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"
EXPECTED = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_signature_matches_githubs_documented_vector() -> None:
    assert signature_for(secret=SECRET, body=BODY) == EXPECTED
    assert signature_is_valid(secret=SECRET, body=BODY, header=EXPECTED)


def test_wrong_missing_or_unsigned_signatures_are_rejected() -> None:
    assert not signature_is_valid(secret=SECRET, body=BODY + b" ", header=EXPECTED)
    assert not signature_is_valid(secret="other", body=BODY, header=EXPECTED)
    assert not signature_is_valid(secret=SECRET, body=BODY, header=None)
    assert not signature_is_valid(
        secret=SECRET, body=BODY, header=EXPECTED.replace("sha256=", "sha1=")
    )
    # Without a configured secret nothing is valid, not even an "empty" signature.
    assert not signature_is_valid(secret="", body=BODY, header=signature_for(secret="", body=BODY))

"""OAuthBearerServer and the unsecured validator, without sockets."""

from __future__ import annotations

import json
import time

import pytest

from odradek.security.errors import SaslAuthenticationError, SecurityConfigError
from odradek.security.oauthbearer import OAuthBearerServer, UnsecuredValidator
from tests.support.oauth import first_message, jwt


def now() -> int:  # at the test's own time: the suite may run minutes after collection
    return int(time.time())


def test_options_come_from_the_oauthbearer_jaas_module():
    v = UnsecuredValidator.from_jaas(
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
        'unsecuredValidatorPrincipalClaimName="user" unsecuredValidatorScopeClaimName="scp" '
        'unsecuredValidatorRequiredScope="a b" unsecuredValidatorAllowableClockSkewMs="5000";')
    assert v == UnsecuredValidator("user", "scp", ("a", "b"), 5000)
    assert UnsecuredValidator.from_jaas(None) == UnsecuredValidator()
    with pytest.raises(SecurityConfigError):
        UnsecuredValidator.from_jaas("x.OAuthBearerLoginModule required "
                                     'unsecuredValidatorAllowableClockSkewMs="soon";')


def test_claims_scope_list_and_clock_skew():
    v = UnsecuredValidator("user", "scp", ("a",), 120_000)
    # A scope given as a JSON list; expired 60 s ago but within the 120 s skew.
    token = jwt({"alg": "none"}, {"user": "carol", "scp": ["a", "b"], "exp": now() - 60})
    assert v.validate(token) == "carol"


@pytest.mark.parametrize("exp", [float("nan"), float("inf"), True, "soon"])
def test_exp_must_be_a_finite_number(exp):
    from odradek.security.oauthbearer import InvalidToken

    with pytest.raises(InvalidToken, match="exp claim"):
        UnsecuredValidator().validate(jwt({"alg": "none"}, {"sub": "x", "exp": exp}))


def test_extensions_are_accepted_and_bad_messages_refused():
    token = jwt({"alg": "none"}, {"sub": "dave", "exp": now() + 60})
    server = OAuthBearerServer(UnsecuredValidator())
    message = f"n,,\x01auth=Bearer {token}\x01traceId=abc\x01\x01".encode()
    assert server.evaluate(message) == b"" and server.complete and server.username == "dave"
    for bad in [b"p,,\x01auth=Bearer x\x01\x01",  # channel binding is not offered
                f"n,,\x01auth=Bearer {token}\x01".encode(),  # no final ^A
                f"n,,\x01auth=Bearer {token}\x01bad-key=1\x01\x01".encode(),
                b"\xff\xfe"]:
        with pytest.raises(SaslAuthenticationError):
            OAuthBearerServer(UnsecuredValidator()).evaluate(bad)


def test_an_invalid_token_is_a_challenge_first():
    server = OAuthBearerServer(UnsecuredValidator())
    challenge = server.evaluate(first_message(jwt({"alg": "none"}, {"sub": "x"})))  # no exp
    assert json.loads(challenge) == {"status": "invalid_token"} and not server.complete
    with pytest.raises(SaslAuthenticationError) as exc:
        server.evaluate(b"\x01")
    assert exc.value.message == '{"status":"invalid_token"}'
    assert "exp claim" in exc.value.reason


@pytest.mark.parametrize("validator", [UnsecuredValidator(),
                                       UnsecuredValidator(required_scope=("kafka",))])
def test_any_client_message_is_answered_or_refused(validator):
    """Bad input gets an answer or SASL_AUTHENTICATION_FAILED, never another exception."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    tokens = st.one_of(
        st.binary(max_size=300),
        st.builds(lambda t: first_message(t).decode("latin-1").encode("latin-1"),
                  st.text(alphabet="abcAB0123-_.=~+/ \x01", max_size=120)),
        st.builds(lambda h, c: first_message(jwt(h, c)),
                  st.dictionaries(st.sampled_from(["alg", "kid", "typ"]),
                                  st.one_of(st.text(max_size=8), st.integers(), st.none())),
                  st.dictionaries(st.sampled_from(["sub", "exp", "iat", "scope"]),
                                  st.one_of(st.text(max_size=8), st.integers(), st.floats(),
                                            st.lists(st.text(max_size=4)), st.none()))))

    @settings(max_examples=300, deadline=None)
    @given(tokens)
    def check(token: bytes) -> None:
        server = OAuthBearerServer(validator)
        try:
            answer = server.evaluate(token)
        except SaslAuthenticationError:
            return
        assert isinstance(answer, bytes)
        if answer:  # a challenge: the client's ^A ends it with a refusal
            with pytest.raises(SaslAuthenticationError):
                server.evaluate(b"\x01")

    check()

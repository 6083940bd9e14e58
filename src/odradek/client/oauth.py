"""An OAuth access token from an identity provider, for SASL/OAUTHBEARER.

The client-credentials grant (RFC 6749 §4.4) with the client authenticated by HTTP Basic, as
librdkafka (`sasl.oauthbearer.method=oidc`) and Kafka's Java client
(OAuthBearerLoginCallbackHandler) ask for tokens. Blocking: run it in a thread.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

from ..protocol.errors import ErrorCode
from .errors import ClientError, KafkaClientError


def client_credentials_token(url: str, client_id: str, client_secret: str,
                             scope: str | None = None) -> str:
    """The access token the endpoint at `url` hands to this client. KafkaClientError
    (SASL_AUTHENTICATION_FAILED) when it refuses the client, ClientError when it cannot be
    reached or answers something else; the secret is never in a message."""
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    credentials = (f"{urllib.parse.quote(client_id, safe='')}:"
                   f"{urllib.parse.quote(client_secret, safe='')}")
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(form).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
                 "Content-Type": "application/x-www-form-urlencoded",
                 "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            token = json.loads(response.read()).get("access_token")
    except urllib.error.HTTPError as exc:
        raise KafkaClientError(ErrorCode.sasl_authentication_failed,
                               f"the token endpoint {url} answered HTTP {exc.code}") from None
    except (OSError, ValueError, AttributeError) as exc:
        raise ClientError(f"cannot get a token from {url}: {exc}") from None
    if not isinstance(token, str) or not token:
        raise ClientError(f"the token endpoint {url} sent no access_token")
    return token

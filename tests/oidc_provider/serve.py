"""Run the local OpenID Connect provider on a loopback port, with its users and Prism as its one client.

    python -m tests.oidc_provider.serve PORT

Environment: OIDC_PROVIDER_DB (a SQLite file), OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI,
OIDC_USERS ("username:email:password" separated by commas).
"""

import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def signing_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def main():
    port = int(sys.argv[1])
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    os.environ.setdefault("OIDC_PROVIDER_RSA_KEY", signing_key())
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.servers.basehttp import get_internal_wsgi_application, run
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    for entry in os.environ.get("OIDC_USERS", "").split(","):
        username, email, password = entry.split(":")
        get_user_model().objects.create_user(username, email=email, password=password)
    Application.objects.create(
        name="Prism", client_id=os.environ["OIDC_CLIENT_ID"], client_secret=os.environ["OIDC_CLIENT_SECRET"],
        client_type=Application.CLIENT_CONFIDENTIAL, authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=os.environ["OIDC_REDIRECT_URI"], algorithm=Application.RS256_ALGORITHM, skip_authorization=True,
    )
    run("127.0.0.1", port, get_internal_wsgi_application(), threading=True)


if __name__ == "__main__":
    main()

from oauth2_provider.oauth2_validators import OAuth2Validator


class EmailClaims(OAuth2Validator):
    """Tells the client the signed-in user's email, as a company's identity provider would."""

    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "email": "email"}

    def get_additional_claims(self, request):
        return {"email": request.user.email}

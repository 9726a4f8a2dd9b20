"""Check only what Prism itself needs of a request (gateway/requests.py, per operation); the rest goes upstream untouched."""

from gateway.requests import body_parse

from .interface import Plugin


class RequestValidation(Plugin):
    async def handle(self, context, next):
        check = context.operation.check
        if check is not None:
            data = body_parse(context.body) if context.body is not None else context.request_data
            context.request_data = check(data)
            if "model" not in context.request_data:  # an operation whose model is optional: its default
                context.request_data_update(model=context.operation.default_model)
            context.requested_model = context.request_data["model"]
        await next(context)

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from tenants.keys import key_prefix
from tenants.models import ApiKey
from tenants.services import key_issue, tenant_create


class Command(BaseCommand):
    help = "Set up the quickstart's demo tenant, key and admin user (safe to repeat) and print how to call Prism."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, base_url, **options):
        raw, password = settings.PRISM_DEMO_KEY, settings.PRISM_DEMO_ADMIN_PASSWORD
        if not (raw and key_prefix(raw) and password):
            raise CommandError("Set PRISM_DEMO_KEY (a Prism key) and PRISM_DEMO_ADMIN_PASSWORD; scripts/run.sh does.")
        tenant, _ = tenant_create(name="demo")
        if not ApiKey.objects.filter(prefix=key_prefix(raw)).exists():
            key_issue(tenant=tenant, label="demo", raw=raw)
        users = get_user_model().objects
        if not users.filter(username="admin").exists():
            users.create_superuser("admin", email="", password=password)
        model = "gpt-4o-mini" if settings.OPENAI_API_KEY else "mock-1"
        self.stdout.write(
            f"""
Prism is starting on {base_url}/

  Demo key:   {raw}
  Admin:      {base_url}/admin/  (user admin, password {password})
  Console:    {base_url}/console/  (usage, keys, members; the same user)

Try it:

curl {base_url}/v1/chat/completions \\
  -H "Authorization: Bearer {raw}" \\
  -H "Content-Type: application/json" \\
  -d '{{"model": "{model}", "messages": [{{"role": "user", "content": "Hello, Prism!"}}]}}'
"""
        )

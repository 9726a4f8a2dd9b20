"""Environment for the test run, set before Django reads its settings (pytest.ini loads this early)."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "prism-test-secret-key")
os.environ.setdefault("PRISM_KEY_PEPPER", "prism-test-pepper")
os.environ.setdefault("PRISM_USAGE_FLUSH_INTERVAL", "0.05")
# A spool of this run's own: records left by an earlier run's processes name tenants that are gone.
os.environ.setdefault("PRISM_SPOOL_DIR", tempfile.mkdtemp(prefix="prism-spool-"))
# The tests start their own upstream; nothing may reach the real OpenAI.
os.environ["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"
os.environ["OPENAI_API_KEY"] = "sk-test-not-a-real-key"
os.environ["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:9"
os.environ["ANTHROPIC_API_KEY"] = "sk-ant-test-not-a-real-key"

"""Vendor credentials with a documented shape.

Each format is a literal prefix plus a bounded body. With a prefilter engine, one scan over
all of an event's strings finds which strings meet which format (prefilter.py, the patterns
below without their lookarounds); without one, each format's literal prefixes gate its scan.
A format's own pattern and validator run only then.
Sources are named per entry: the provider's documentation where it states the shape, and
the public rules of the secret scanners gitleaks (config/gitleaks.toml), trufflehog and
detect-secrets where it does not. The patterns are written here from those facts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

_B = r"(?![A-Za-z0-9])"  # a fixed-length token ends at a non-alphanumeric character


def entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    n = len(text)
    counts = {c: text.count(c) for c in set(text)}
    return -sum(k / n * math.log2(k / n) for k in counts.values())


def mixed(text: str) -> bool:
    """True when ``text`` mixes at least two of lower case, upper case and digits."""
    kinds = (any(c.islower() for c in text), any(c.isupper() for c in text),
             any(c.isdigit() for c in text))
    return sum(kinds) >= 2


def _one_case_word(text: str) -> bool:
    """True for letters of one case only (``placeholder``, ``XXXXXXXXXX``): no random draw."""
    return text.isalpha() and (text.islower() or text.isupper())


@dataclass(frozen=True)
class Format:
    """One credential format: its placeholder, its pattern and an optional validator."""

    placeholder: str
    pattern: str
    source: str
    check: Callable[[str], bool] | None = None
    regex: re.Pattern = field(init=False, repr=False, compare=False)
    unbounded: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Not glued to a preceding letter or digit: ``xghp_…`` is part of another word.
        object.__setattr__(self, "regex", re.compile(r"(?<![A-Za-z0-9])(?:" + self.pattern + ")"))
        # The same without that lookbehind, for values.bounded_sub: a pattern that opens with a
        # lookbehind is tried at every position, while one that opens with its literal prefix
        # lets sre skip ahead to it (about 7 us against 0.3 us over a 600-character text).
        object.__setattr__(self, "unbounded", re.compile("(?:" + self.pattern + ")"))

    @property
    def literals(self) -> tuple[str, ...]:
        """Literal text of which every match holds one: the cheap pre-check before the scan."""
        override = _OVERRIDES.get(self.placeholder)
        return override or tuple(_leading_literal(alt) for alt in _alternatives(self.pattern))


FORMATS: tuple[Format, ...] = (
    # AWS IAM "unique identifier prefixes" (AKIA long-term, ASIA temporary, ABIA STS bearer,
    # ACCA context keys, A3T older ids); gitleaks rule aws-access-token.
    Format("aws_key", r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}" + _B,
           "AWS IAM User Guide, unique identifiers; gitleaks aws-access-token"),
    # GitHub blog "Behind GitHub's new authentication token formats" (2021): ghp_/gho_/ghu_/
    # ghs_/ghr_ + 36 base62; fine-grained github_pat_ + 82 characters.
    Format("github_token", r"gh[pousr]_[A-Za-z0-9]{36,}+|github_pat_[A-Za-z0-9_]{22,}+",
           "GitHub token formats blog post; gitleaks github-pat, github-fine-grained-pat"),
    # GitLab docs "Token prefixes": glpat- (personal), glcbt- (CI job), gldt- (deploy),
    # glft- (feed), glrt- (runner), glptt- (trigger), glsoat- (SCIM), gloas- (OAuth app),
    # glimt- (incoming mail), glagent- (agent), glffct- (feature flags), GR1348941 (runner
    # registration); gitleaks gitlab-* rules.
    Format("gitlab_token",
           r"gl(?:pat|cbt|dt|ft|rt|ptt|soat|oas|imt|agent|ffct)-[A-Za-z0-9_\-]{20,}+"
           r"(?:\.[0-9a-z]{9})?|GR1348941[A-Za-z0-9_\-]{20,}+",
           "GitLab docs, token prefixes; gitleaks gitlab-pat, gitlab-cicd-job-token, ..."),
    # Anthropic console keys sk-ant-api03-… / sk-ant-admin01-… (93 characters + "AA");
    # gitleaks anthropic-api-key, anthropic-admin-api-key.
    Format("anthropic_key", r"sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_\-]{80,}+",
           "Anthropic API docs (x-api-key); gitleaks anthropic-api-key"),
    # OpenAI keys: sk- + 20 + "T3BlbkFJ" (base64 of "OpenAI") + 20, and project, service
    # account and admin keys sk-proj-/sk-svcacct-/sk-admin-; gitleaks openai-api-key.
    Format("openai_key",
           r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}+"
           r"|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}" + _B,
           "OpenAI API reference, authentication; gitleaks openai-api-key"),
    # SendGrid API keys: "SG." + 22 + "." + 43 (SendGrid docs, API keys); gitleaks sendgrid.
    Format("sendgrid_key", r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}" + _B,
           "Twilio SendGrid docs, API keys; gitleaks sendgrid-api-token"),
    # Twilio: API key SIDs SK + 32 hex, account SIDs AC + 32 hex (Twilio docs, API keys).
    Format("twilio_key", r"(?:SK|AC)[0-9a-f]{32}" + _B,
           "Twilio docs, API keys and account SID; gitleaks twilio-api-key"),
    # Discord bot tokens: base64 user id . 6 . 27-38 (Discord developer docs, bot tokens;
    # trufflehog discordbottoken detector); webhooks discord.com/api/webhooks/<id>/<token>.
    Format("discord_token",
           r"[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40}" + _B,
           "Discord developer docs, bot authorization; trufflehog discordbottoken",
           lambda t: mixed(t.partition(".")[0])),
    Format("discord_webhook",
           r"discord(?:app)?\.com/api/webhooks/[0-9]{5,20}/[A-Za-z0-9_\-]{20,}+",
           "Discord developer docs, webhooks; trufflehog discordwebhook"),
    # PyPI API tokens: "pypi-" + macaroon whose base64 starts "AgEIcHlwaS5vcmc" (PyPI help,
    # API tokens); gitleaks pypi-upload-token.
    Format("pypi_token", r"pypi-AgE[A-Za-z0-9_\-]{50,}+",
           "PyPI help, API tokens; gitleaks pypi-upload-token"),
    # npm access tokens: npm_ + 36 (npm docs, about access tokens); gitleaks npm-access-token.
    Format("npm_token", r"npm_[A-Za-z0-9]{36}" + _B,
           "npm docs, about access tokens; gitleaks npm-access-token"),
    # Hugging Face user access tokens hf_ + 34 letters, org tokens api_org_ + 34 (HF docs,
    # security tokens); gitleaks huggingface-access-token.
    Format("huggingface_token", r"(?:hf_|api_org_)[A-Za-z]{34}" + _B,
           "Hugging Face docs, user access tokens; gitleaks huggingface-access-token"),
    # Slack: xoxb/xoxp/xoxa/xoxr/xoxs/xoxo/xoxe tokens, xoxe.xoxp- config tokens and xapp-
    # app-level tokens (Slack API docs, token types); gitleaks slack-* rules.
    Format("slack_token",
           r"xox[abposre]-[A-Za-z0-9\-]{10,}+|xoxe\.xox[bp]-[0-9]-[A-Za-z0-9]{40,}+"
           r"|xapp-[0-9]-[A-Za-z0-9\-]{20,}+",
           "Slack API docs, token types; gitleaks slack-bot-token, slack-app-token"),
    # Stripe secret and restricted keys sk_/rk_ + live/test/prod, webhook secrets whsec_
    # (Stripe docs, API keys); publishable pk_ keys are public.
    # A body of letters of one case only is a placeholder (``sk_test_placeholder``).
    Format("stripe_key", r"(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,}+|whsec_[A-Za-z0-9]{24,}+",
           "Stripe docs, API keys and webhook signing secrets; gitleaks stripe-access-token",
           lambda t: not _one_case_word(t.rpartition("_")[2])),
    # Resend API keys: re_ + 8 + _ + 24 (Resend docs, API keys; trufflehog resend detector).
    Format("resend_key", r"re_[A-Za-z0-9]{6,12}_[A-Za-z0-9]{16,}+", "Resend docs, API keys",
           lambda t: mixed(t[3:]) and entropy(t[3:]) > 3.0),
    # Sentry org auth tokens sntrys_ (base64 JSON), user tokens sntryu_ + 64 hex (Sentry
    # docs, auth tokens); gitleaks sentry-org-token, sentry-user-token.
    Format("sentry_token", r"sntrys_eyJ[A-Za-z0-9+/=_]{40,}+|sntryu_[0-9a-f]{64}" + _B,
           "Sentry docs, auth tokens; gitleaks sentry-org-token, sentry-user-token"),
    # Google API keys AIza + 35, OAuth client secrets GOCSPX- + 28, OAuth access tokens ya29.
    # (Google Cloud docs, API keys and OAuth 2.0); gitleaks gcp-api-key.
    Format("google_api_key", r"AIza[A-Za-z0-9_\-]{35}(?![A-Za-z0-9_\-])",
           "Google Cloud docs, API keys; gitleaks gcp-api-key"),
    Format("google_oauth", r"GOCSPX-[A-Za-z0-9_\-]{28}(?![A-Za-z0-9_\-])|ya29\.[A-Za-z0-9_\-]{30,}+",
           "Google Identity docs, OAuth 2.0 client secrets and access tokens"),
    # DigitalOcean: dop_v1_ (personal), doo_v1_ (OAuth), dor_v1_ (refresh) + 64 hex
    # (DigitalOcean docs, API tokens); gitleaks digitalocean-*.
    Format("digitalocean_token", r"do[opr]_v1_[0-9a-f]{64}" + _B,
           "DigitalOcean docs, personal access tokens; gitleaks digitalocean-pat"),
    # Heroku API keys HRKU- (Heroku Dev Center, API keys v2); gitleaks heroku-api-key-v2.
    Format("heroku_key", r"HRKU-[A-Za-z0-9_\-]{30,}+",
           "Heroku Dev Center, authentication; gitleaks heroku-api-key-v2"),
    # Shopify access tokens shpat_/shpca_/shppa_ and shared secrets shpss_ + 32 hex (Shopify
    # dev docs, access tokens); gitleaks shopify-*.
    Format("shopify_token", r"shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}" + _B,
           "Shopify dev docs, access tokens; gitleaks shopify-access-token"),
    # Square access tokens EAAA + 60 and sq0atp-/sq0csp- (Square developer docs, access
    # tokens); gitleaks square-access-token.
    Format("square_token", r"EAAA[A-Za-z0-9_\-]{60}(?![A-Za-z0-9_\-])|sq0(?:atp|csp)-[A-Za-z0-9_\-]{22,}+",
           "Square developer docs, access tokens; gitleaks square-access-token"),
    # Mailgun private API keys key- + 32 hex (Mailgun docs); gitleaks mailgun-private-api-token.
    Format("mailgun_key", r"key-[0-9a-f]{32}" + _B, "Mailgun docs, API keys"),
    # Postman API keys PMAK- + 24 hex + - + 34 hex; gitleaks postman-api-token.
    Format("postman_key", r"PMAK-[0-9a-fA-F]{24}-[0-9a-fA-F]{34}" + _B,
           "Postman docs, API keys; gitleaks postman-api-token"),
    # Databricks personal access tokens dapi + 32 hex; gitleaks databricks-api-token.
    Format("databricks_token", r"dapi[0-9a-f]{32}(?:-[0-9])?" + _B,
           "Databricks docs, personal access tokens; gitleaks databricks-api-token"),
    # Atlassian API tokens ATATT3 + 186; gitleaks atlassian-api-token.
    Format("atlassian_token", r"ATATT3[A-Za-z0-9_\-=]{100,}+",
           "Atlassian support, API tokens; gitleaks atlassian-api-token"),
    # Linear personal API keys lin_api_ + 40; gitleaks linear-api-key.
    Format("linear_key", r"lin_api_[A-Za-z0-9]{40}" + _B, "Linear docs, API; gitleaks linear-api-key"),
    # Doppler tokens dp.pt./dp.st./dp.sa./dp.ct. + 40-44; gitleaks doppler-api-token.
    Format("doppler_token", r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}" + _B,
           "Doppler docs, token formats; gitleaks doppler-api-token"),
    # Grafana service account tokens glsa_ + 32 + _ + 8 hex, cloud tokens glc_ + base64.
    Format("grafana_token", r"glsa_[A-Za-z0-9]{32}_[0-9a-fA-F]{8}" + _B + r"|glc_[A-Za-z0-9+/]{32,}+={0,2}",
           "Grafana docs, service accounts; gitleaks grafana-service-account-token"),
    # New Relic user keys NRAK-, insert keys NRII-, browser keys NRJS- (New Relic docs,
    # API keys); gitleaks new-relic-*.
    Format("newrelic_key", r"NRAK-[A-Z0-9]{27}" + _B + r"|NRII-[A-Za-z0-9\-]{32}" + _B
           + r"|NRJS-[0-9a-f]{19}" + _B, "New Relic docs, API keys; gitleaks new-relic-user-api-key"),
    # Notion integration secrets ntn_ + 11 digits + 35, legacy secret_ + 43.
    Format("notion_token", r"ntn_[0-9]{11}[A-Za-z0-9]{35}" + _B + r"|secret_[A-Za-z0-9]{43}" + _B,
           "Notion developers, authorization; gitleaks notion-api-token"),
    # HashiCorp Vault service tokens hvs. and batch tokens hvb. (Vault docs, token formats).
    Format("vault_token", r"hv[sb]\.[A-Za-z0-9_\-]{90,}+",
           "HashiCorp Vault docs, tokens; gitleaks vault-service-token, vault-batch-token"),
    # age secret keys AGE-SECRET-KEY-1 + 58 bech32 (age spec); gitleaks age-secret-key.
    Format("age_key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}" + _B, "age encryption spec; gitleaks age-secret-key"),
    # Supabase personal access tokens sbp_ + 40 hex (Supabase docs, management API).
    Format("supabase_token", r"sbp_[0-9a-f]{40}" + _B, "Supabase docs, access tokens"),
    # PlanetScale tokens and passwords pscale_tkn_/pscale_oauth_/pscale_pw_.
    Format("planetscale_token", r"pscale_(?:tkn|oauth|pw)_[A-Za-z0-9_.=\-]{32,64}+",
           "PlanetScale docs, service tokens; gitleaks planetscale-*"),
    # Pulumi access tokens pul- + 40 hex; gitleaks pulumi-api-token.
    Format("pulumi_token", r"pul-[0-9a-f]{40}" + _B, "Pulumi docs, access tokens; gitleaks pulumi-api-token"),
    # Dynatrace API tokens dt0c01. + 24 + . + 64; gitleaks dynatrace-api-token.
    Format("dynatrace_token", r"dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}" + _B,
           "Dynatrace docs, access tokens; gitleaks dynatrace-api-token"),
    # Brevo (Sendinblue) API keys xkeysib- + 64 hex + - + 16; gitleaks sendinblue-api-token.
    Format("brevo_key", r"xkeysib-[0-9a-f]{64}-[A-Za-z0-9]{16}" + _B, "Brevo docs, API keys"),
    # RubyGems API keys rubygems_ + 48 hex; gitleaks rubygems-api-token.
    Format("rubygems_key", r"rubygems_[0-9a-f]{48}" + _B, "RubyGems guides, API keys"),
    # Perplexity keys pplx- + 48, Groq keys gsk_ + 52; gitleaks perplexity-api-key.
    Format("ai_provider_key", r"pplx-[A-Za-z0-9]{48}" + _B + r"|gsk_[A-Za-z0-9]{52}" + _B,
           "Perplexity and Groq API docs; gitleaks perplexity-api-key"),
    # 1Password service account tokens ops_eyJ + base64; gitleaks 1password-service-account-token.
    Format("onepassword_token", r"ops_eyJ[A-Za-z0-9+/]{100,}+={0,3}",
           "1Password developer docs, service accounts"),
    # Fly.io tokens fo1_ + 43 and FlyV1 fm2_ macaroons; gitleaks flyio-access-token.
    Format("flyio_token", r"fo1_[A-Za-z0-9_\-]{43}" + _B + r"|fm[12][ar]?_[A-Za-z0-9+/]{60,}+={0,3}",
           "Fly.io docs, access tokens; gitleaks flyio-access-token"),
    # Microsoft Teams incoming webhooks *.webhook.office.com/webhookb2/…; gitleaks rule.
    Format("teams_webhook", r"[A-Za-z0-9\-]{1,60}\.webhook\.office\.com/webhookb2/[A-Za-z0-9@/\-]{40,}+",
           "Microsoft Teams docs, incoming webhooks; gitleaks microsoft-teams-webhook"),
)

# Formats whose match does not start with a fixed literal get their own guarded scans.
# Telegram bot tokens: bot id, ':', "A" + 32-34 (Telegram Bot API docs, authorizing your bot;
# the documented example has a 6-digit id, real ones 8-10 and "AA").
TELEGRAM = re.compile(r"(?<![0-9])[0-9]{5,16}:A[A-Za-z0-9_\-]{32,34}" + _B)
# Mailchimp API keys: 32 hex + "-us" + data centre (Mailchimp docs, API keys).
MAILCHIMP = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{32}-us[0-9]{1,2}" + _B)
# Azure AD (Entra) client secrets: 3 + digit + "Q~" + 31-34 (gitleaks azure-ad-client-secret).
AZURE_AD = re.compile(
    r"(?<![A-Za-z0-9_~.])[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34}(?![A-Za-z0-9_~.\-])")
# Terraform Cloud tokens: 14 + ".atlasv1." + 60-70 (gitleaks hashicorp-tf-api-token).
TERRAFORM = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=\-]{60,70}+")
# An AWS secret access key is 40 base64 characters; bare, it is only told apart from other
# text when an access key id stands just before it (the pair as printed by ``aws configure``
# or a CSV of credentials).
AWS_SECRET_AFTER_ID = re.compile(
    r"(\[aws_key\](?:[^A-Za-z0-9+\\]|\\[tnr]){1,12}+(?:[A-Za-z_ ]{0,40}+(?:[^A-Za-z0-9+\\]|\\[tnr]){1,8}+)?)"
    r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)

# Formats whose alternatives start with a character class: their literal pre-check.
_OVERRIDES = MappingProxyType({
    "aws_key": ("AKIA", "ASIA", "ABIA", "ACCA", "A3T"), "discord_token": (".",),
    "twilio_key": ("SK", "AC"), "teams_webhook": (".webhook.office.com/",),
    "huggingface_token": ("hf_", "api_org_"), "stripe_key": ("k_live_", "k_test_", "k_prod_", "whsec_"),
})


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a pattern (split at '|' outside groups and classes)."""
    out, depth, start, klass, i = [], 0, 0, False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if klass:
            klass = c != "]"
        elif c == "[":
            klass = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*out, pattern[start:]]


def _leading_literal(alternative: str) -> str:
    """The literal characters an alternative starts with (``gh`` for ``gh[pousr]_…``)."""
    out, i = [], 0
    while i < len(alternative):
        c = alternative[i]
        if c == "\\" and i + 1 < len(alternative) and alternative[i + 1] in ".-":
            out.append(alternative[i + 1])
            i += 2
            continue
        if not (c.isalnum() or c in "_-~"):
            break
        out.append(c)
        i += 1
    if i < len(alternative) and alternative[i] in "{?*+" and out:
        out.pop()  # the last character is quantified: not literal
    if not out:
        raise ValueError(f"no literal prefix in {alternative!r}: add an override")
    return "".join(out)


GUARDED = (  # (literal that every match contains, pattern, placeholder)
    (":A", TELEGRAM, "[telegram_token]"),
    ("-us", MAILCHIMP, "[mailchimp_key]"),
    ("Q~", AZURE_AD, "[azure_secret]"),
    (".atlasv1.", TERRAFORM, "[terraform_token]"),
)

PLACEHOLDERS = frozenset({f.placeholder for f in FORMATS} | {
    "telegram_token", "mailchimp_key", "azure_secret", "terraform_token", "aws_secret",
    "dsn_key",
})


def which(text: str) -> Format | None:
    """The format a combined-scan hit belongs to (validators included), or None."""
    for fmt in FORMATS:
        if fmt.regex.fullmatch(text) is not None:
            return fmt if fmt.check is None or fmt.check(text) else None
    return None

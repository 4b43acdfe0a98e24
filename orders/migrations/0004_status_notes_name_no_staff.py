"""Status notes written before issue 13 named the staff account that moved the order ("Status set by
ops@example.com.", "Marked shipped in the admin by ops@example.com.", "refund requested by
ops@example.com"), and customers read them in their order's status_history. This rewrites them in
today's words. A refund's requester was named only in its note: that user becomes the status change's
actor, so the admin still shows who it was. Nothing to undo: the identities are gone on purpose."""

import re

from django.conf import settings
from django.db import migrations
from django.db.models import Q

REWRITES = (
    (re.compile(r"^Status set by (?P<who>.+)\.$"), lambda match: "Status set by staff."),
    (
        re.compile(r"^Marked (?P<status>[a-z]+) in the admin by (?P<who>.+)\.$"),
        lambda match: f"Marked {match['status']} in the admin.",
    ),
    (
        re.compile(r"^refund requested by (?P<who>.+)$"),
        lambda match: "Refund requested." if match["who"] == "system" else "Refund requested by staff.",
    ),
)
PREFIXES = ("Status set by ", "Marked ", "refund requested by ")


def rewrite_notes(apps, schema_editor):
    OrderStatusChange = apps.get_model("orders", "OrderStatusChange")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    candidates = Q()
    for prefix in PREFIXES:
        candidates |= Q(note__startswith=prefix)
    for change in OrderStatusChange.objects.filter(candidates).iterator():
        for pattern, rewrite in REWRITES:
            match = pattern.match(change.note)
            if match is None:
                continue
            change.note = rewrite(match)
            if change.actor_id is None and "@" in match["who"]:
                change.actor = User.objects.filter(email__iexact=match["who"]).first()
            change.save(update_fields=["note", "actor"])
            break


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_idempotency_encoder"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(rewrite_notes, migrations.RunPython.noop)]

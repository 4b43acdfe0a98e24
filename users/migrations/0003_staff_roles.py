"""The staff roles of API.md as groups: Catalog managers, Order managers, Finance, Support.

The table is `novacart.permissions.ROLES`; `sync_roles` gives each group exactly those permissions
(creating any that do not exist yet). Reversing leaves the groups: staff may have been put in them."""

from django.db import migrations

from novacart.permissions import sync_roles


def make_roles(apps, schema_editor):
    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("users", "0002_user_token_generation"),
        ("addresses", "0002_initial"),
        ("orders", "0005_staff_permissions"),
        ("payments", "0003_staff_permissions"),
        ("products", "0006_stock_movement"),
    ]

    operations = [migrations.RunPython(make_roles, migrations.RunPython.noop)]

"""E-mail verification (`User.email_verified`), Google accounts and the Google ID tokens already used.

Accounts that exist before this migration were never asked to verify their address. They are
marked verified only if they have signed in since registering: `last_login` is set and later than a
minute after `date_joined` (registration itself records a sign-in, within milliseconds of
`date_joined`, so `last_login` being set alone would mark every registered account). Such an
account has come back and used the shop, so its owner holds its password, and most likely the
mailbox: a customer who can no longer sign in resets the password through that mailbox. An account
that was registered and never came back (a mistyped address, or someone else's address used to hold
it) stays unverified, as do accounts made in the admin or by createsuperuser that never signed in;
their owners verify with `POST /api/auth/verify-email/resend/`. Marking every existing account would
vouch for addresses nobody ever showed they own; marking none would block every existing customer
from cash on delivery at once. Going back drops the field, so there is nothing to undo.
"""

from datetime import timedelta

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# Registration records its sign-in right after creating the account; a later sign-in is a return.
SIGNED_IN_AGAIN_AFTER = timedelta(minutes=1)


def mark_returning_accounts_verified(apps, schema_editor):
    User = apps.get_model("users", "User")
    User.objects.filter(
        last_login__isnull=False, last_login__gt=models.F("date_joined") + SIGNED_IN_AGAIN_AFTER
    ).update(email_verified=True)


class Migration(migrations.Migration):

    dependencies = [
        ('users', '0004_friendly_constraint_messages'),
    ]

    operations = [
        migrations.CreateModel(
            name='UsedGoogleCredential',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(max_length=64, unique=True)),
                ('expires_at', models.DateTimeField(db_index=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['id'],
            },
        ),
        migrations.AddField(
            model_name='user',
            name='email_verified',
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark_returning_accounts_verified, migrations.RunPython.noop),
        migrations.CreateModel(
            name='SocialAccount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('provider', models.CharField(choices=[('google', 'Google')], max_length=32)),
                ('subject', models.CharField(max_length=255)),
                ('email', models.EmailField(blank=True, max_length=254)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('last_sign_in_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='social_accounts', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['id'],
                'constraints': [models.UniqueConstraint(fields=('provider', 'subject'), name='social_account_provider_subject_unique', violation_error_message='This Google account is already linked to another account.'), models.UniqueConstraint(fields=('user', 'provider'), name='social_account_user_provider_unique', violation_error_message='This account is already linked to an account of that provider.')],
            },
        ),
    ]

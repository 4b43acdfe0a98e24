"""The admins of models we do not own (Django's groups, SimpleJWT's token records) get the guard every
admin of ours has (novacart.admin_base.ActionSelectionGuard): a forged action selection is refused in
words, not a 500. Registered again here, after their apps registered them (INSTALLED_APPS order)."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from rest_framework_simplejwt.token_blacklist.admin import BlacklistedTokenAdmin, OutstandingTokenAdmin
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from .admin_base import ActionSelectionGuard

for model, base in (
    (Group, GroupAdmin),
    (OutstandingToken, OutstandingTokenAdmin),
    (BlacklistedToken, BlacklistedTokenAdmin),
):
    admin.site.unregister(model)
    admin.site.register(model, type(base.__name__, (ActionSelectionGuard, base), {"__module__": __name__}))

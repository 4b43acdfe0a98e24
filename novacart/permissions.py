"""Staff permissions and roles, named once.

Every staff endpoint and admin action names the Django permission it needs from `Perm`; the roles
of API.md ("Staff roles") are groups bundling them, made by the migration
`users/migrations/0003_staff_roles.py` through `sync_roles`. A staff user lacking the permission gets
a 403 `permission_denied` on the API and no button in the admin; superusers have everything (Django's
`has_perm`). Being staff (`is_staff`) only opens the admin's door: it grants nothing by itself.

The migration makes the groups; after every `migrate` (and every flush of a test database)
`sync_roles_after_migrate` makes them match `ROLES` again, so changing the table needs no new
migration. A test compares the groups in the database with this table.
"""

from enum import StrEnum

from django.apps import apps as django_apps
from rest_framework.permissions import BasePermission


class Perm(StrEnum):
    """The permissions staff endpoints and admin actions check, as `app_label.codename`."""

    VIEW_ORDER = "orders.view_order"
    # Ship, deliver, cancel and confirm orders: every staff move of the lifecycle.
    CHANGE_ORDER = "orders.change_order"
    # Custom (orders.Order.Meta.permissions): the sales report and the analytics dashboard.
    VIEW_SALES_REPORT = "orders.view_sales_report"
    VIEW_PAYMENT = "payments.view_payment"
    # Custom (payments.Payment.Meta.permissions): refunds, from the API and the admin.
    REFUND_PAYMENT = "payments.refund_payment"
    # The refunds made (payments.Refund): their own admin list, and the order page's refunds.
    VIEW_REFUND = "payments.view_refund"
    VIEW_PRODUCT = "products.view_product"
    ADD_PRODUCT = "products.add_product"
    CHANGE_PRODUCT = "products.change_product"
    DELETE_PRODUCT = "products.delete_product"
    # Hiding or showing a review is the admin's delete of one (reviews are hidden, never deleted there,
    # so ratings are recomputed by the service).
    MODERATE_REVIEW = "products.delete_review"
    # A stock adjustment is a new stock movement row (products.services.product_stock_adjust).
    ADJUST_STOCK = "products.add_stockmovement"
    VIEW_CATEGORY = "products.view_category"
    ADD_CATEGORY = "products.add_category"
    CHANGE_CATEGORY = "products.change_category"
    DELETE_CATEGORY = "products.delete_category"
    # Vouchers (orders.Voucher): the codes customers apply to carts, and the admin's code generator
    # (which adds vouchers).
    VIEW_VOUCHER = "orders.view_voucher"
    ADD_VOUCHER = "orders.add_voucher"
    CHANGE_VOUCHER = "orders.change_voucher"
    DELETE_VOUCHER = "orders.delete_voucher"
    VIEW_USER = "users.view_user"
    # Edit an account in the admin (its details, groups, password): no role holds it, superusers only.
    CHANGE_USER = "users.change_user"


def _model_perms(app_label: str, model: str, actions: str = "add change delete view") -> set[str]:
    return {f"{app_label}.{action}_{model}" for action in actions.split()}


CATALOG_MANAGERS = "Catalog managers"
ORDER_MANAGERS = "Order managers"
FINANCE = "Finance"
SUPPORT = "Support"

# Group name -> the permissions it holds (API.md "Staff roles").
ROLES: dict[str, frozenset[str]] = {
    CATALOG_MANAGERS: frozenset(
        _model_perms("products", "product")
        | _model_perms("products", "category")
        | _model_perms("products", "productimage")
        | _model_perms("products", "stockmovement", "add view")
        | _model_perms("products", "review", "delete view")
        # Promotions on the catalog: vouchers, and the uses they had.
        | _model_perms("orders", "voucher")
        | _model_perms("orders", "voucherredemption", "view")
    ),
    ORDER_MANAGERS: frozenset(
        _model_perms("orders", "order", "change view")
        | _model_perms("orders", "orderitem", "view")
        | _model_perms("orders", "orderstatuschange", "view")
        | {Perm.VIEW_PAYMENT, Perm.VIEW_REFUND, Perm.VIEW_USER, "addresses.view_address", Perm.VIEW_PRODUCT}
        # Where the shop ships and at what price.
        | _model_perms("orders", "shippingzone")
        | _model_perms("orders", "shippingmethod")
        | _model_perms("orders", "taxrate", "view")
        # Returns: approve, reject, receive (refunding them is Finance's).
        | _model_perms("orders", "orderreturn", "change view")
        | _model_perms("orders", "orderreturnline", "view")
        | _model_perms("payments", "refund", "view")
    ),
    FINANCE: frozenset(
        _model_perms("orders", "order", "view")
        | _model_perms("orders", "orderitem", "view")
        | _model_perms("orders", "orderstatuschange", "view")
        | {Perm.VIEW_SALES_REPORT, Perm.VIEW_PAYMENT, Perm.VIEW_REFUND, Perm.REFUND_PAYMENT}
        | {"payments.view_webhookevent"}
        | {Perm.VIEW_USER}
        # The tax rates checkout charges.
        | _model_perms("orders", "taxrate")
        # What discounts cost: vouchers and their uses, read only.
        | _model_perms("orders", "voucher", "view")
        | _model_perms("orders", "voucherredemption", "view")
        # Refunds, and the returns they refund.
        | _model_perms("payments", "refund", "view")
        | _model_perms("orders", "orderreturn", "view")
        | _model_perms("orders", "orderreturnline", "view")
    ),
    SUPPORT: frozenset(
        _model_perms("orders", "order", "view")
        | _model_perms("orders", "orderitem", "view")
        | _model_perms("orders", "orderstatuschange", "view")
        | {Perm.VIEW_PAYMENT, Perm.VIEW_REFUND, Perm.VIEW_USER, "addresses.view_address", Perm.VIEW_PRODUCT}
        | {"products.view_category"}
        # Why a customer's code was refused: vouchers and their uses, read only.
        | _model_perms("orders", "voucher", "view")
        | _model_perms("orders", "voucherredemption", "view")
        | _model_perms("payments", "refund", "view")
        | _model_perms("orders", "orderreturn", "view")
        | _model_perms("orders", "orderreturnline", "view")
    ),
}


def sync_roles(apps, *, strict: bool = True) -> None:
    """Make each role's group hold exactly its permissions. `apps` is an app registry: a data
    migration's, or the project's own after `migrate` (`sync_roles_after_migrate`). Creates the
    permissions first, which Django otherwise only does after the whole `migrate` run. With
    `strict=False` a permission whose model is not migrated yet is left out instead of failing."""
    # Imported here: only migrate runs this, and the module is imported by every staff view.
    from django.contrib.auth.management import create_permissions

    labels = {perm.split(".")[0] for perms in ROLES.values() for perm in perms}
    for label in labels:
        app_config = apps.get_app_config(label)
        models_module = getattr(app_config, "models_module", None)
        # A migration's registry leaves it None, and create_permissions skips such apps.
        app_config.models_module = models_module or True
        try:
            create_permissions(app_config, verbosity=0, apps=apps)
        finally:
            app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in sorted(perms):
            app_label, codename = perm.split(".")
            found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if found is None and strict:
                raise Permission.DoesNotExist(perm)
            if found is not None:
                wanted.append(found)
        group.permissions.set(wanted)


def sync_roles_after_migrate(sender, apps=None, **kwargs) -> None:
    """post_migrate: the role groups match `ROLES` after every `migrate`, and after a test database
    is flushed (which empties what the data migration made). The four groups are the code's: give
    someone other permissions through a group of your own, not by editing these."""
    # `migrate` passes its registry; `flush` sends none: the project's own then.
    apps = apps or django_apps
    try:
        apps.get_model("auth", "Group")
        apps.get_model("contenttypes", "ContentType")
    except LookupError:  # a partial migrate that has not reached auth yet: nothing to sync into
        return
    sync_roles(apps, strict=False)


class StaffPermission(BasePermission):
    """An active staff user holding every permission in `required` (superusers hold all).

    Use `StaffPermission.require(Perm.REFUND_PAYMENT)` in a view's `permission_classes` or
    `get_permissions`. Anonymous callers get DRF's 401; signed-in callers without the permission a
    403 `permission_denied` in the one error shape."""

    required: tuple[str, ...] = ()
    message = "You do not have permission to perform this action."

    @classmethod
    def require(cls, *perms: str) -> type["StaffPermission"]:
        names = "_".join(str(perm).replace(".", "_") for perm in perms)
        return type(f"StaffPermission_{names}", (cls,), {"required": tuple(str(perm) for perm in perms)})

    def has_permission(self, request, view) -> bool:
        return user_has(request.user, *self.required)

    @classmethod
    def require_any(cls, *perms: str) -> type["StaffPermission"]:
        """An active staff user holding at least one of `perms` (a read: view or change)."""
        names = "_or_".join(str(perm).replace(".", "_") for perm in perms)
        return type(
            f"StaffPermission_any_{names}",
            (cls,),
            {"required": tuple(str(perm) for perm in perms), "has_permission": _has_any_permission},
        )


def _has_any_permission(self, request, view) -> bool:
    return user_has_any(request.user, *self.required)


def user_has(user, *perms: str) -> bool:
    """An active staff user holding every permission in `perms`: the one test behind the API's
    `StaffPermission` and the admin's buttons and actions."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff and user.has_perms(perms))


def user_has_any(user, *perms: str) -> bool:
    """An active staff user holding at least one permission in `perms`. For staff reads: like the
    admin (`ModelAdmin.has_view_permission`), whoever may change a model may also see it, so reads
    ask for the view or the change permission."""
    return any(user_has(user, perm) for perm in perms)

"""What a user may see and do in the console, tenant by tenant.

Everything a view shows is looked up through these functions, so an object of a tenant the user
does not belong to is simply not found (404), whatever its id.
"""

from django.db.models import Q
from django.http import Http404

from tenants.models import ApiKey, Tenant

from .models import KeyOwner, Membership, Role

RANK = {Role.VIEWER: 0, Role.DEVELOPER: 1, Role.ADMIN: 2}


def roles_of(user) -> dict[int, str]:
    """Tenant id → role. Staff are admins of every tenant; a plain Tenant.members entry is a viewer."""
    if user.is_staff:
        return dict.fromkeys(Tenant.objects.values_list("id", flat=True), Role.ADMIN)
    roles = dict.fromkeys(Tenant.objects.filter(members=user).values_list("id", flat=True), Role.VIEWER)
    roles.update(Membership.objects.filter(user=user).values_list("tenant_id", "role"))
    return roles


def tenants_visible(user):
    if user.is_staff:
        return Tenant.objects.all()
    return Tenant.objects.filter(Q(members=user) | Q(memberships__user=user)).distinct()


def tenants_where(user, role: str):
    """The tenants in which the user has at least `role`."""
    return Tenant.objects.filter(id__in=[tenant_id for tenant_id, held in roles_of(user).items()
                                         if RANK[held] >= RANK[role]])


def role_in(user, tenant_id: int) -> str | None:
    return roles_of(user).get(tenant_id)


def tenant_get(user, tenant_id, role: str = Role.VIEWER) -> Tenant:
    tenant = tenants_where(user, role).filter(id=tenant_id).first()
    if tenant is None:
        raise Http404("No such tenant")
    return tenant


def key_get(user, key_id) -> ApiKey:
    """A key of one of the user's tenants; developers see only the keys they issued."""
    api_key = ApiKey.objects.select_related("tenant").filter(id=key_id).first()
    if api_key is None or not key_visible(user, api_key):
        raise Http404("No such key")
    return api_key


def keys_visible(user):
    roles = roles_of(user)
    keys = ApiKey.objects.filter(tenant_id__in=list(roles))
    mine = Q(owner__user=user) | Q(tenant_id__in=[tenant_id for tenant_id, role in roles.items() if role != Role.DEVELOPER])
    return keys.filter(mine).select_related("tenant", "owner__user")


def key_visible(user, api_key) -> bool:
    role = role_in(user, api_key.tenant_id)
    return role is not None and (role != Role.DEVELOPER or _owns(user, api_key))


def key_manageable(user, api_key) -> bool:
    """Admins manage every key of their tenant; developers the keys they issued; viewers none."""
    role = role_in(user, api_key.tenant_id)
    return role == Role.ADMIN or (role == Role.DEVELOPER and _owns(user, api_key))


def _owns(user, api_key) -> bool:
    return KeyOwner.objects.filter(api_key=api_key, user=user).exists()

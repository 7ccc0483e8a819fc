import pytest

from accounts.models import AuditLog, Membership
from accounts.roles import Role
from accounts.services import membership_change_role, membership_remove, organization_transfer_ownership
from portal.errors import Conflict, NotFound, PermissionDenied


def m(user, org):
    return Membership.objects.unscoped().get(user=user, organization=org)


def test_admin_changes_a_role_and_it_is_audited(org_a, admin_a, viewer_a):
    target = m(viewer_a, org_a)
    membership_change_role(
        organization=org_a, actor_membership=m(admin_a, org_a), membership_id=target.id, role=Role.DEVELOPER
    )
    target.refresh_from_db()
    assert target.role == Role.DEVELOPER
    log = AuditLog.objects.unscoped().get(event_type="membership.role_changed")
    assert log.extra_data == {"from": "viewer", "to": "developer", "user": viewer_a.email}


def test_developer_cannot_manage_members(org_a, developer_a, viewer_a):
    with pytest.raises(PermissionDenied):
        membership_change_role(
            organization=org_a,
            actor_membership=m(developer_a, org_a),
            membership_id=m(viewer_a, org_a).id,
            role="admin",
        )


def test_admin_cannot_make_an_owner(org_a, admin_a, viewer_a):
    with pytest.raises(PermissionDenied):
        membership_change_role(
            organization=org_a,
            actor_membership=m(admin_a, org_a),
            membership_id=m(viewer_a, org_a).id,
            role="owner",
        )


def test_last_owner_cannot_be_demoted_or_removed(org_a, owner_a):
    me = m(owner_a, org_a)
    with pytest.raises(Conflict) as exc:
        membership_change_role(organization=org_a, actor_membership=me, membership_id=me.id, role=Role.ADMIN)
    assert exc.value.code == "last_owner"
    with pytest.raises(Conflict):
        membership_remove(organization=org_a, actor_membership=me, membership_id=me.id)
    assert Membership.objects.unscoped().filter(organization=org_a, role=Role.OWNER).count() == 1


def test_other_organizations_membership_is_not_found(org_a, owner_a, owner_b, org_b):
    with pytest.raises(NotFound):
        membership_change_role(
            organization=org_a,
            actor_membership=m(owner_a, org_a),
            membership_id=m(owner_b, org_b).id,
            role="viewer",
        )
    with pytest.raises(NotFound):
        membership_remove(organization=org_a, actor_membership=m(owner_a, org_a), membership_id=m(owner_b, org_b).id)


def test_transfer_ownership_keeps_one_owner_at_least(org_a, owner_a, admin_a):
    organization_transfer_ownership(
        organization=org_a, actor_membership=m(owner_a, org_a), new_owner_membership_id=m(admin_a, org_a).id
    )
    assert m(admin_a, org_a).role == Role.OWNER
    assert m(owner_a, org_a).role == Role.ADMIN


def test_only_owner_transfers(org_a, admin_a, viewer_a):
    with pytest.raises(PermissionDenied):
        organization_transfer_ownership(
            organization=org_a,
            actor_membership=m(admin_a, org_a),
            new_owner_membership_id=m(viewer_a, org_a).id,
        )


def test_member_may_leave(org_a, viewer_a):
    me = m(viewer_a, org_a)
    membership_remove(organization=org_a, actor_membership=me, membership_id=me.id)
    assert not Membership.objects.unscoped().filter(id=me.id).exists()

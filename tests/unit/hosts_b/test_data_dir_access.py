"""ACL text the data_dir_access module asks setfacl for (pure part of the module)."""

from __future__ import annotations

from ansible_collections.aiphone.hardening.plugins.modules.data_dir_access import desired_acl


def test_named_groups_get_access_and_default_entries_with_mask():
    spec = {"mode": "2750", "default_acl": True,
            "acl": [{"kind": "group", "name": "aiphone-supervisors", "perms": "r-x"},
                    {"kind": "group", "name": "aiphone-compliance", "perms": "r-x"}]}
    access = ["user::rwx", "group::r-x", "group:aiphone-compliance:r-x", "group:aiphone-supervisors:r-x",
              "mask::r-x", "other::---"]
    assert desired_acl(spec) == access + [f"default:{line}" for line in access]


def test_without_named_entries_there_is_no_mask():
    assert desired_acl({"mode": "0755", "default_acl": False, "acl": []}) == ["user::rwx", "group::r-x", "other::r-x"]


def test_mask_is_the_union_of_group_class_permissions():
    spec = {"mode": "0700", "default_acl": False, "acl": [{"kind": "group", "name": "w", "perms": "rwx"},
                                                           {"kind": "user", "name": "u", "perms": "r--"}]}
    assert desired_acl(spec) == ["user::rwx", "user:u:r--", "group::---", "group:w:rwx", "mask::rwx", "other::---"]

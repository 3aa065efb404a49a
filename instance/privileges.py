"""Who owns what in an instance's database and who may use it, kept apart from the database's
rows so that a backup can be restored as another instance, whose roles have other names.

pg_dump keeps owners and grants under the roles' names (heobs_<instance>_admin, ...), and a
role's attributes and settings not at all (roles belong to the PostgreSQL cluster, not to a
database). A restore onto another instance's roles therefore restores the rows without owners and
grants (`pg_restore --no-owner --no-acl`, as the superuser) and replays them from this record,
where every role is named by its part: the instance's profiles ("admin", "trusted",
"untrusted"), "superuser" (the role that took the backup, which owns the extensions' objects),
PUBLIC and PostgreSQL's predefined roles (pg_database_owner). The objects are found through
pg_shdepend, PostgreSQL's own list of what depends on a role, and named by pg_identify_object,
whose identities are SQL (`public.contains(public.spoint,pg_catalog.anyelement)`); each is kept
with its address (pg_identify_object_as_address: to find it in another database) and its catalog
and OID in the archive's database (to find its entry in pg_restore's list).

Everything here runs as the PostgreSQL superuser (instance/database.py).
"""

import psycopg2
from psycopg2 import sql

SUPERUSER = "superuser"
PUBLIC = "PUBLIC"
# The kinds of object DaCHS and this service make whose owner a restore sets again
# (`ALTER <kind> <identity> OWNER TO ...`), and the word GRANT names each by.
GRANT_KINDS = {"table": "TABLE", "view": "TABLE", "materialized view": "TABLE",
               "sequence": "SEQUENCE", "schema": "SCHEMA", "function": "FUNCTION",
               "aggregate": "FUNCTION", "procedure": "PROCEDURE", "type": "TYPE",
               "domain": "DOMAIN", "operator": None}
# (MAINTAIN: PostgreSQL 17's VACUUM, ANALYZE, REINDEX... of a table, which its owner holds)
PRIVILEGES = {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER",
              "USAGE", "CREATE", "EXECUTE", "CONNECT", "TEMPORARY", "MAINTAIN"}
# pg_roles columns -> the CREATE ROLE keywords for true and false
ROLE_ATTRIBUTES = {"rolinherit": ("INHERIT", "NOINHERIT"),
                   "rolcreaterole": ("CREATEROLE", "NOCREATEROLE"),
                   "rolcreatedb": ("CREATEDB", "NOCREATEDB"),
                   "rolcanlogin": ("LOGIN", "NOLOGIN"),
                   "rolreplication": ("REPLICATION", "NOREPLICATION"),
                   "rolbypassrls": ("BYPASSRLS", "NOBYPASSRLS")}


class PrivilegeError(RuntimeError):
    """The database holds an owner or grant a restore could not make again; the message says which."""


# The objects that depend on the given roles, each with its address, its catalog and OID, its
# owner and its grants (acl: None where it has PostgreSQL's default privileges). Column grants
# (objsubid <> 0) are listed to be refused.
OBJECTS_QUERY = """
WITH roles AS (SELECT oid FROM pg_roles WHERE rolname = ANY(%(roles)s)),
deps AS (
    SELECT DISTINCT classid, objid, objsubid FROM pg_shdepend
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND refclassid = 'pg_authid'::regclass AND refobjid IN (SELECT oid FROM roles))
SELECT (pg_identify_object(d.classid, d.objid, d.objsubid)).type,
       (pg_identify_object(d.classid, d.objid, d.objsubid)).identity,
       d.objsubid,
       (SELECT json_build_array(type, object_names, object_args)
        FROM pg_identify_object_as_address(d.classid, d.objid, d.objsubid)),
       json_build_array(d.classid::int, d.objid::int),
       pg_get_userbyid(COALESCE(c.relowner, n.nspowner, p.proowner, t.typowner, o.oprowner)),
       (SELECT json_agg(json_build_array(
                    CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                    a.privilege_type, a.is_grantable))
        FROM aclexplode(COALESCE(c.relacl, n.nspacl, p.proacl, t.typacl)) AS a),
       COALESCE(c.relacl, n.nspacl, p.proacl, t.typacl) IS NULL
FROM deps AS d
LEFT JOIN pg_class AS c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
LEFT JOIN pg_namespace AS n ON d.classid = 'pg_namespace'::regclass AND n.oid = d.objid
LEFT JOIN pg_proc AS p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
LEFT JOIN pg_type AS t ON d.classid = 'pg_type'::regclass AND t.oid = d.objid
LEFT JOIN pg_operator AS o ON d.classid = 'pg_operator'::regclass AND o.oid = d.objid
ORDER BY 1, 2
"""

DATABASE_ACL_QUERY = """
SELECT pg_get_userbyid(datdba),
       (SELECT json_agg(json_build_array(
                    CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                    a.privilege_type, a.is_grantable))
        FROM aclexplode(datacl) AS a)
FROM pg_database WHERE datname = current_database()
"""


class _Names:
    """Role names <-> the parts they play (profiles, superuser, PUBLIC, predefined roles)."""

    def __init__(self, roles, superuser):
        self.roles, self.superuser = dict(roles), superuser
        self.parts = {role: profile for profile, role in self.roles.items()}
        self.parts[superuser] = SUPERUSER

    def part(self, role, where):
        if role in self.parts:
            return self.parts[role]
        if role == PUBLIC or role.startswith("pg_"):
            return role
        raise PrivilegeError(f"{where} names the role {role}, which is neither one of the"
                             f" instance's ({', '.join(self.roles.values())}) nor the superuser"
                             f" ({self.superuser}): a restore could not make it again")

    def role(self, part):
        """The role (an SQL object: an identifier, or the keyword PUBLIC) that plays a part."""
        if part == PUBLIC:
            return sql.SQL(PUBLIC)
        return sql.Identifier(self.roles.get(part) or (self.superuser if part == SUPERUSER else part))


def record(db, roles, superuser):
    """The owners, grants and role definitions of the instance's database (instance.Database)
    whose roles are {profile: role name}, as taken by superuser: a dict for json."""
    names = _Names(roles, superuser)
    return {"roles": _record_roles(db, names),
            "database_acl": _record_database_acl(db, names),
            "objects": _record_objects(db, names)}


def _grants(names, acl, owner, where):
    """[part, privilege, grantable] of an ACL, without the owner's own privileges."""
    return [[names.part(grantee, where), privilege, grantable]
            for grantee, privilege, grantable in acl or [] if grantee != owner]


def _record_objects(db, names):
    objects = []
    for kind, identity, column, address, source, owner, acl, default_acl in db.query(
            OBJECTS_QUERY, {"roles": list(names.roles.values())}):
        where = f"{kind} {identity}"
        if column or kind not in GRANT_KINDS:
            raise PrivilegeError(f"{where} depends on the instance's roles, and a restore cannot"
                                 " set its owner or grants again")
        objects.append({"kind": kind, "identity": identity, "address": address,
                        "source": source, "owner": names.part(owner, where),
                        "acl": None if default_acl else _grants(names, acl, owner, where)})
    return objects


def _record_database_acl(db, names):
    owner, acl = db.query(DATABASE_ACL_QUERY)[0]
    return None if acl is None else _grants(names, acl, owner, "the database")


def _record_roles(db, names):
    rows = db.query(sql.SQL("SELECT rolname, rolsuper, rolconnlimit, rolconfig, {} FROM pg_roles"
                            " WHERE rolname = ANY(%s)").format(
        sql.SQL(", ").join(map(sql.Identifier, ROLE_ATTRIBUTES))), (list(names.roles.values()),))
    found = {row[0]: row for row in rows}
    roles = {}
    for profile, role in names.roles.items():
        if role not in found:
            raise PrivilegeError(f"the instance's role {role} does not exist")
        _, superuser, connlimit, config, *attributes = found[role]
        if superuser:
            raise PrivilegeError(f"the instance's role {role} is a superuser, which it never is"
                                 " when the instance makes it")
        roles[profile] = {"attributes": dict(zip(ROLE_ATTRIBUTES, attributes)),
                          "connection_limit": connlimit, "settings": config or [],
                          "member_of": []}
    for group, member in db.query(
            "SELECT g.rolname, m.rolname FROM pg_auth_members AS a"
            " JOIN pg_roles AS g ON g.oid = a.roleid JOIN pg_roles AS m ON m.oid = a.member"
            " WHERE m.rolname = ANY(%s)", (list(names.roles.values()),)):
        roles[names.parts[member]]["member_of"].append(names.part(group, f"role {member}"))
    return roles


# ---------------------------------------------------------------- replaying
def extension_members(db, recorded):
    """The recorded objects that an extension of db (a database with the extensions made, before
    the restore) defines itself. DaCHS 2.7 defines operators of pgSphere 1.2's MOCs and circles
    in SQL (its //adql RD) that pgSphere 1.5 brings along: restoring the archive's would fail
    ("function scircle_intersect_smoc already exists"), and the extension's are the ones to
    keep. Objects are found by their address (pg_identify_object_as_address)."""
    members = []
    connection = db.connect()
    try:
        with connection.cursor() as cursor:
            for obj in recorded["objects"]:
                try:
                    cursor.execute("SELECT classid, objid, objsubid"
                                   " FROM pg_get_object_address(%s, %s::text[], %s::text[])",
                                   obj["address"])
                except psycopg2.Error:
                    continue  # not there: the restore makes it
                cursor.execute("SELECT 1 FROM pg_depend WHERE classid = %s AND objid = %s"
                               " AND deptype = 'e'", cursor.fetchone()[:2])
                if cursor.fetchone():
                    members.append(obj)
    finally:
        connection.close()
    return members


def create_roles(cursor, recorded, roles, passwords, superuser):
    """Creates the roles {profile: name} as recorded (attributes, settings, memberships), each
    with its password {profile: password}."""
    names = _Names(roles, superuser)
    for profile, role in recorded["roles"].items():
        keywords = [ROLE_ATTRIBUTES[name][0 if value else 1]
                    for name, value in role["attributes"].items()]
        cursor.execute(sql.SQL("CREATE ROLE {} WITH {} CONNECTION LIMIT {} PASSWORD %s").format(
            names.role(profile), sql.SQL(" ").join(map(sql.SQL, keywords)),
            sql.Literal(int(role["connection_limit"]))), (passwords[profile],))
        for setting in role["settings"]:
            name, value = setting.split("=", 1)
            cursor.execute(sql.SQL("ALTER ROLE {} SET {} TO %s").format(
                names.role(profile), sql.Identifier(name)), (value,))
    for profile, role in recorded["roles"].items():
        for group in role["member_of"]:
            cursor.execute(sql.SQL("GRANT {} TO {}").format(names.role(group), names.role(profile)))


def grant_database(cursor, recorded, dbname, roles, superuser):
    """The database's own grants (CONNECT, CREATE, TEMPORARY), as recorded."""
    if recorded["database_acl"] is not None:
        target = sql.SQL("DATABASE {}").format(sql.Identifier(dbname))
        _replay_acl(cursor, _Names(roles, superuser), target, recorded["database_acl"])


def replay_objects(cursor, recorded, roles, superuser, skip=()):
    """Gives every recorded object but those in skip (extension_members) its owner and grants,
    in a database restored without them (as the superuser: its objects are the superuser's)."""
    names = _Names(roles, superuser)
    skipped = {obj["identity"] for obj in skip}
    for obj in recorded["objects"]:
        if obj["identity"] in skipped:
            continue
        kind = obj["kind"]
        if kind not in GRANT_KINDS:
            raise PrivilegeError(f"the archive lists a {kind}, which a restore cannot give an owner")
        if obj["owner"] != SUPERUSER:
            cursor.execute(sql.SQL("ALTER {} {} OWNER TO {}").format(
                sql.SQL(kind.upper()), sql.SQL(obj["identity"]), names.role(obj["owner"])))
        if obj["acl"] is not None:
            target = sql.SQL("{} {}").format(sql.SQL(GRANT_KINDS[kind]), sql.SQL(obj["identity"]))
            _replay_acl(cursor, names, target, obj["acl"])


def _replay_acl(cursor, names, target, acl):
    """Makes target's privileges exactly acl's: PUBLIC's default ones go first."""
    cursor.execute(sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(target))
    for grantee, privilege, grantable in acl:
        if privilege not in PRIVILEGES:
            raise PrivilegeError(f"unknown privilege {privilege!r} in the archive")
        cursor.execute(sql.SQL("GRANT {} ON {} TO {}{}").format(
            sql.SQL(privilege), target, names.role(grantee),
            sql.SQL(" WITH GRANT OPTION" if grantable else "")))

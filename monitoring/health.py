"""What /health checks for a balancer: the host may take requests only when its front (nginx)
listens, every DaCHS process behind it answers a TAP query, and the database answers. Every
check runs at each request (in parallel, each within TIMEOUT), so the answer is the state now.
"""

import concurrent.futures
import socket
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import psycopg2

TIMEOUT = 5  # seconds for each check
# The smallest TAP query that goes through DaCHS's ADQL translation and the database.
TAP_QUERY = "SELECT TOP 1 obs_publisher_did FROM ivoa.obscore"


def check_front(address, port):
    """nginx accepts connections on the instance's port (the balancer reaches /health there)."""
    with socket.create_connection((address, port), timeout=TIMEOUT):
        return f"nginx listens on {address}:{port}"


def check_tap(port):
    """A DaCHS process answers a TAP query (QUERY_STATUS OK) on its own port."""
    data = urllib.parse.urlencode({"LANG": "ADQL", "REQUEST": "doQuery", "QUERY": TAP_QUERY})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/tap/sync", data=data.encode(),
                                timeout=TIMEOUT) as response:
        body = response.read()
    statuses = [element.get("value") for element in ET.fromstring(body).iter()
                if element.tag.rsplit("}", 1)[-1] == "INFO" and element.get("name") == "QUERY_STATUS"]
    if not {"OK", "OVERFLOW"} & set(statuses):
        raise RuntimeError(f"TAP answered QUERY_STATUS {statuses or 'missing'}")
    return f"DaCHS on port {port} answers TAP"


def check_database(dbname, port):
    """PostgreSQL answers a query on the instance's database."""
    with psycopg2.connect(dbname=dbname, port=port, connect_timeout=TIMEOUT,
                          application_name="heobs-health") as conn:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
    conn.close()
    return f"database {dbname} answers"


def health(front, backend_ports, dbname, db_port):
    """(ok, [(check, ok, what it found)]) for front (address, port), the DaCHS processes'
    ports and the database."""
    checks = [("front", check_front, front), ("database", check_database, (dbname, db_port))]
    checks += [(f"dachs:{port}", check_tap, (port,)) for port in backend_ports]
    with concurrent.futures.ThreadPoolExecutor(len(checks)) as pool:
        futures = [(name, pool.submit(function, *args)) for name, function, args in checks]
        results = [(name, *_outcome(future)) for name, future in futures]
    return all(ok for _, ok, _ in results), results


def _outcome(future):
    try:
        return True, future.result()
    except Exception as exc:  # noqa: BLE001 (every failure is a reason to report)
        return False, f"{type(exc).__name__}: {exc}".strip()

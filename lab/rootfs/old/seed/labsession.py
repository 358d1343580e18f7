"""A keystoneauth session for the seed scripts (admin, from the OS_* variables of /root/openrc).

Debian runs every API under uwsgi with a plain --http-socket, which closes the connection after a bodiless
204 response while a keep-alive client (requests/urllib3) keeps the socket in its pool: the next request on it
dies with "Connection reset by peer" (seen: role grant, then user create). Dropping the pooled connections
after each 204 avoids reusing a socket the server has closed.
"""
import os

import requests
from keystoneauth1 import session
from keystoneauth1.identity import v3


def admin_session():
    http = requests.Session()

    def drop_after_204(resp, *args, **kwargs):
        if resp.status_code == 204:
            http.close()

    http.hooks["response"].append(drop_after_204)
    auth = v3.Password(
        auth_url=os.environ["OS_AUTH_URL"],
        username=os.environ["OS_USERNAME"],
        password=os.environ["OS_PASSWORD"],
        project_name=os.environ["OS_PROJECT_NAME"],
        user_domain_name="Default",
        project_domain_name="Default",
    )
    return session.Session(auth=auth, session=http)

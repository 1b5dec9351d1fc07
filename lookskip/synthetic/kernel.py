"""KernelErrors: syslog kernel lines, oopses, OOM kills, segfaults."""

from __future__ import annotations

import random
from datetime import datetime

from lookskip.synthetic.common import Clock, Event, _build, _hex, _syslog_ts


def _kernel_errors(rng: random.Random) -> str:
    clock = Clock(rng, datetime(2025, 3, 11, 2, 14, 0))
    host = "db-node-07"

    def syslog(tag: str, msg: str) -> str:
        return f"{_syslog_ts(clock.now)} {host} {tag}: {msg}"

    def kern(msg: str) -> str:
        return syslog("kernel", f"[{clock.uptime:12.6f}] {msg}")

    def k(msg: str) -> str:
        clock.tick(0, 3)
        return kern(msg)

    start = []
    for msg in [
        "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) "
        "(gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1",
        "Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=UUID="
        "3f1c8e2a-77d0-4c1e-9a43-0b5f2d9c6e11 ro quiet",
        "DMI: Supermicro SYS-1029P-WTR/X11DDW-L, BIOS 3.8a 10/28/2023",
        "Memory: 263540120K/268262628K available",
        "smpboot: Allowing 32 CPUs, 0 hotplug CPUs",
    ]:
        clock.tick(5, 80)
        start.append(kern(msg))

    def routine() -> Event:
        clock.tick(500, 20000)
        tag, msg = rng.choice(
            [
                (
                    "systemd[1]",
                    f"Started session-{rng.randint(100, 999)}.scope - Session "
                    f"{rng.randint(100, 999)} of User ops.",
                ),
                (
                    f"CRON[{rng.randint(1000, 30000)}]",
                    "(root) CMD (/usr/lib/sysstat/debian-sa1 1 1)",
                ),
                ("systemd[1]", "Starting logrotate.service - Rotate log files..."),
                ("systemd[1]", "logrotate.service: Deactivated successfully."),
                (f"systemd-logind[{rng.randint(700, 900)}]", "New session 42 of user ops."),
                (
                    f"chronyd[{rng.randint(600, 700)}]",
                    f"Selected source 10.0.0.{rng.randint(1, 4)}",
                ),
            ]
        )
        return [syslog(tag, msg)]

    def kroutine() -> Event:
        clock.tick(500, 20000)
        return [
            kern(
                rng.choice(
                    [
                        "ixgbe 0000:3b:00.0 eth0: NIC Link is Up 10 Gbps, Flow Control: RX/TX",
                        f"EXT4-fs (nvme0n1p2): mounted filesystem {_hex(rng, 8)}-7c1e with ordered data mode",
                        'audit: type=1400 apparmor="STATUS" operation="profile_replace" '
                        'name="/usr/sbin/chronyd" pid=1 comm="apparmor_parser"',
                        f"IPv6: ADDRCONF(NETDEV_CHANGE): veth{_hex(rng, 7)}: link becomes ready",
                        f"docker0: port {rng.randint(1, 9)}(veth{_hex(rng, 7)}) entered forwarding state",
                    ]
                )
            )
        ]

    def call_trace(funcs: list[str]) -> list[str]:
        out = [k("Call Trace:"), k(" <TASK>")]
        out += [k(f" {f}+0x{rng.randint(16, 700):x}/0x{rng.randint(700, 1200):x}") for f in funcs]
        return [*out, k(" </TASK>")]

    def oom_kill() -> Event:
        clock.tick(1000, 30000)
        victim, vpid = rng.choice(
            [
                ("postgres", rng.randint(3000, 9000)),
                ("java", rng.randint(3000, 9000)),
                ("python3", rng.randint(3000, 9000)),
            ]
        )
        out = [
            kern(
                f"{victim} invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|"
                "__GFP_COMP), order=0, oom_score_adj=0"
            ),
            k(
                f"CPU: {rng.randint(0, 31)} PID: {vpid} Comm: {victim} Not tainted "
                "6.1.0-18-amd64 #1  Debian 6.1.76-1"
            ),
            k("Hardware name: Supermicro SYS-1029P-WTR/X11DDW-L, BIOS 3.8a 10/28/2023"),
        ]
        out += call_trace(
            [
                "dump_stack_lvl",
                "dump_header",
                "oom_kill_process.cold",
                "out_of_memory",
                "__alloc_pages_slowpath.constprop.0",
                "__alloc_pages",
                "folio_alloc",
                "__filemap_get_folio",
                "filemap_fault",
                "__do_fault",
                "handle_mm_fault",
                "exc_page_fault",
                "asm_exc_page_fault",
            ]
        )
        total = rng.randint(20_000_000, 90_000_000)
        rss = rng.randint(total // 3, total - 1000)
        out += [
            k("Mem-Info:"),
            k(
                f"active_anon:{rng.randint(10**6, 9 * 10**6)} inactive_anon:"
                f"{rng.randint(10**5, 10**6)} isolated_anon:0"
            ),
            k(
                "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0-1,"
                f"global_oom,task_memcg=/system.slice/{victim}.service,task={victim},"
                f"pid={vpid},uid=0"
            ),
            k(
                f"Out of memory: Killed process {vpid} ({victim}) total-vm:{total}kB, "
                f"anon-rss:{rss}kB, file-rss:{rng.randint(1000, 90000)}kB, shmem-rss:0kB, "
                f"UID:0 pgtables:{rng.randint(10000, 99999)}kB oom_score_adj:0"
            ),
            k(
                f"oom_reaper: reaped process {vpid} ({victim}), now anon-rss:0kB, "
                "file-rss:0kB, shmem-rss:0kB"
            ),
        ]
        clock.tick(100, 900)
        out += [
            syslog(
                "systemd[1]",
                f"{victim}.service: A process of this unit has been killed by the OOM killer.",
            ),
            syslog(
                "systemd[1]", f"{victim}.service: Main process exited, code=killed, status=9/KILL"
            ),
            syslog("systemd[1]", f"{victim}.service: Failed with result 'oom-kill'."),
        ]
        return out

    def segfault() -> Event:
        clock.tick(1000, 30000)
        prog = rng.choice(["python3", "node", "nginx", "pgbouncer"])
        ip = f"00007f{_hex(rng, 10)}"
        addr = rng.choice(["0", "8", "18"])
        return [
            kern(
                f"{prog}[{rng.randint(2000, 40000)}]: segfault at {addr}"
                f" ip {ip} sp 00007ffd{_hex(rng, 8)} error {rng.choice([4, 6])} in "
                f"libc.so.6[7f{_hex(rng, 10)}+155000] likely on CPU {rng.randint(0, 31)} "
                f"(core {rng.randint(0, 15)}, socket {rng.randint(0, 1)})"
            ),
            k(
                "Code: 48 8b 45 f8 48 89 c7 e8 9d fe ff ff 48 8b 45 f8 <0f> b6 00 84 c0 75 "
                "e3 90 c9 c3 55 48 89 e5 48 83 ec 20"
            ),
        ]

    def null_deref() -> Event:
        clock.tick(1000, 30000)
        cpu = rng.randint(0, 31)
        out = [
            kern("BUG: kernel NULL pointer dereference, address: 0000000000000008"),
            k("#PF: supervisor read access in kernel mode"),
            k("#PF: error_code(0x0000) - not-present page"),
            k("PGD 0 P4D 0"),
            k("Oops: 0000 [#1] PREEMPT SMP NOPTI"),
            k(
                f"CPU: {cpu} PID: {rng.randint(100, 900)} Comm: kworker/{cpu}:1H Tainted: G"
                "           O       6.1.0-18-amd64 #1  Debian 6.1.76-1"
            ),
            k(f"RIP: 0010:nvme_poll_cq+0x{rng.randint(40, 120):x}/0x2d0 [nvme]"),
            k(f"RSP: 0018:ffffb1c2{_hex(rng, 8)} EFLAGS: 00010246"),
        ]
        out += call_trace(
            [
                "nvme_irq",
                "__handle_irq_event_percpu",
                "handle_irq_event",
                "handle_edge_irq",
                "__common_interrupt",
                "common_interrupt",
            ]
        )
        return [*out, k("---[ end trace 0000000000000000 ]---")]

    def hung_task() -> Event:
        clock.tick(1000, 30000)
        task = rng.choice(["jbd2/nvme0n1p2-8", "postgres", "kworker/u64:3"])
        return [
            kern(
                f"INFO: task {task}:{rng.randint(300, 9000)} blocked for more than "
                f"{rng.choice([120, 241, 362])} seconds."
            ),
            k("      Not tainted 6.1.0-18-amd64 #1 Debian 6.1.76-1"),
            k('"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.'),
            *call_trace(
                [
                    "__schedule",
                    "schedule",
                    "io_schedule",
                    "bit_wait_io",
                    "__wait_on_bit",
                    "jbd2_journal_commit_transaction",
                ]
            ),
        ]

    def disk_errors() -> Event:
        clock.tick(1000, 30000)
        sector = rng.randint(10**6, 10**9)
        out = [
            kern(
                f"nvme nvme1: I/O {rng.randint(1, 999)} QID {rng.randint(1, 16)} timeout, aborting"
            ),
            k(f"nvme nvme1: Abort status: 0x{rng.choice([0, 371]):x}"),
        ]
        for i in range(rng.randint(1, 3)):
            out.append(
                k(
                    f"I/O error, dev nvme1n1, sector {sector + 8 * i} op 0x1:(WRITE) flags "
                    "0x800 phys_seg 1 prio class 2"
                )
            )
        if rng.random() < 0.5:
            out += [
                k(
                    "EXT4-fs error (device nvme1n1p1): ext4_journal_check_start:83: "
                    "comm postgres: Detected aborted journal"
                ),
                k("EXT4-fs (nvme1n1p1): Remounting filesystem read-only"),
            ]
        return out

    def soft_lockup() -> Event:
        clock.tick(1000, 30000)
        cpu = rng.randint(0, 31)
        return [
            kern(
                f"watchdog: BUG: soft lockup - CPU#{cpu} stuck for {rng.randint(22, 67)}s! "
                f"[kworker/{cpu}:2:{rng.randint(200, 9000)}]"
            ),
            k(f"rcu: INFO: rcu_preempt self-detected stall on CPU {cpu}"),
        ]

    def hardware() -> Event:
        clock.tick(1000, 30000)
        return [
            kern(
                rng.choice(
                    [
                        "mce: [Hardware Error]: Machine check events logged",
                        f"EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0 "
                        f"(channel:1 slot:0 page:0x{_hex(rng, 6)} offset:0x0 grain:32 syndrome:0x0)",
                        f"CPU{rng.randint(0, 31)}: Core temperature above threshold, cpu clock throttled "
                        f"(total events = {rng.randint(1, 5000)})",
                        "ixgbe 0000:3b:00.1 eth1: NIC Link is Down",
                        f"NETDEV WATCHDOG: eth1 (ixgbe): transmit queue {rng.randint(0, 7)} timed out "
                        f"{rng.randint(5000, 9000)} ms",
                        "nf_conntrack: nf_conntrack: table full, dropping packet",
                        "TCP: request_sock_TCP: Possible SYN flooding on port 5432. Sending cookies.",
                    ]
                )
            )
        ]

    return _build(
        rng,
        start,
        [
            (55, routine),
            (30, kroutine),
            (3, oom_kill),
            (5, segfault),
            (1, null_deref),
            (2, hung_task),
            (5, disk_errors),
            (3, soft_lockup),
            (8, hardware),
        ],
    )


# =========================================================================== DatabaseErrors

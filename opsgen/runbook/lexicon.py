"""Word lists that decide whether a line of a runbook is a command, and what kind.

Kept as data so that a reviewer can see (and a test can pin) exactly which words make
untagged text count as a command. A word list is a deliberate limit: an unknown tool in an
untagged block is reported as "not recognised", never guessed into the script.
"""

from __future__ import annotations

__all__ = [
    "KNOWN_COMMANDS",
    "READ_ONLY",
    "SHELL_KEYWORDS",
    "SHELL_TAGS",
    "WRAPPERS",
]

#: Fence info strings that mean "this is shell to run" (anything else tagged is reference).
SHELL_TAGS = frozenset(
    {
        "bash", "sh", "shell", "zsh", "ksh", "console", "shell-session", "shellsession",
        "bash-session", "terminal", "shellscript", "session",
    }
)  # fmt: skip

SHELL_KEYWORDS = frozenset(
    {
        "for", "while", "until", "if", "then", "else", "elif", "fi", "do", "done", "case",
        "esac", "function", "{", "}", "(", ")", "[[", "[", "!", "time", "select",
    }
)  # fmt: skip

#: Tools an ops runbook uses on a Linux host (and the control-plane tools it mentions).
KNOWN_COMMANDS = frozenset(
    {
        # coreutils, util-linux, findutils, procps, text tools
        "awk", "basename", "cat", "cd", "chgrp", "chmod", "chown", "chroot", "cp", "cut",
        "date", "dd", "df", "diff", "dirname", "du", "echo", "env", "egrep", "expr",
        "fgrep", "file", "find", "findmnt", "free", "fuser", "getent", "grep", "gzip",
        "gunzip", "head", "hostname", "id", "install", "ionice", "kill", "killall", "less",
        "ln", "ls", "lsblk", "lsof", "md5sum", "mkdir", "mktemp", "more", "mount", "mv",
        "nice", "nohup", "nproc", "pgrep", "pkill", "printf", "ps", "pwd", "readlink",
        "realpath", "renice", "rm", "rmdir", "rsync", "sed", "seq", "sha1sum", "sha256sum",
        "sleep", "sort", "stat", "strace", "su", "sudo", "sync", "tail", "tar", "tee",
        "test", "timeout", "top", "touch", "tr", "truncate", "umount", "uname", "uniq",
        "uptime", "vmstat", "iostat", "w", "watch", "wc", "which", "whoami", "xargs",
        "xz", "zcat", "zgrep", "bzip2", "unzip", "zip", "blkid", "fdisk", "parted",
        "growpart", "resize2fs", "xfs_growfs", "mkfs", "fsck", "e2fsck", "tune2fs",
        "mdadm", "pvs", "vgs", "lvs", "lvextend", "pvresize", "swapon", "swapoff",
        "sysctl", "ulimit", "dmesg", "journalctl", "logger", "logrotate", "crontab",
        "systemctl", "service", "sv", "initctl", "update-rc.d", "reboot", "shutdown",
        "poweroff", "halt", "useradd", "usermod", "userdel", "groupadd", "gpasswd",
        "passwd", "chpasswd", "visudo", "vipw", "runuser", "setfacl", "getfacl",
        "ip", "ss", "netstat", "ping", "traceroute", "dig", "nslookup", "host", "curl",
        "wget", "nc", "ncat", "telnet", "ssh", "scp", "sftp", "ssh-keygen", "ssh-keyscan",
        "openssl", "iptables", "ip6tables", "nft", "ufw", "tcpdump", "ethtool",
        "apt", "apt-get", "apt-cache", "apt-mark", "dpkg", "dpkg-query", "dpkg-reconfigure",
        "yum", "dnf", "rpm", "snap", "pip", "pip3", "gem", "npm", "bundle",
        "git", "make", "python", "python3", "perl", "ruby", "bash", "sh", "zsh", "source",
        "export", "set", "unset", "local", "read", "exit", "logout", "eval", "exec",
        "alias", "type", "true", "false", "wait", "trap", "declare", "readonly", "let",
        "vi", "vim", "nano", "emacs", "htop", "atop", "iotop", "iftop", "ncdu", "screen",
        "tmux", "man", "psql", "mysql", "mysqldump", "pg_dump", "redis-cli", "mongo",
        "mongosh", "sqlite3", "freshclam", "clamscan", "nginx", "apachectl", "varnishadm",
        # service managers and tools named in real runbooks
        "gitlab-ctl", "gitlab-rake", "gitlab-rails", "gitlab-psql", "chef-client",
        "knife", "docker", "podman", "kubectl", "oc", "helm", "crictl", "terraform",
        "gcloud", "gsutil", "aws", "az", "gds", "consul", "vault", "etcdctl",
        "locksmithctl", "puppet", "ansible", "ansible-playbook", "salt", "fab", "cap",
        "rake", "rails", "aptly", "gpg", "update-alternatives", "ldconfig", "modprobe",
        "lsmod", "hwclock", "timedatectl", "hostnamectl", "localectl", "loginctl",
    }
)  # fmt: skip

#: Commands that only look at the system: a task made only of these is ``changed_when: false``.
READ_ONLY = frozenset(
    {
        "cat", "df", "du", "echo", "egrep", "fgrep", "file", "findmnt", "free", "getent",
        "grep", "head", "hostname", "id", "ls", "lsblk", "lsof", "md5sum", "nproc", "pgrep",
        "printf", "ps", "pwd", "readlink", "realpath", "sha1sum", "sha256sum", "sort",
        "stat", "tail", "test", "top", "uname", "uniq", "uptime", "vmstat", "iostat", "w",
        "wc", "which", "whoami", "zcat", "zgrep", "dmesg", "journalctl", "ip", "ss",
        "netstat", "dig", "host", "nslookup", "dpkg-query", "apt-cache", "blkid", "awk",
        "cut", "tr", "true", "date", "env", "sleep", "type", "diff", "cd",
    }
)  # fmt: skip

#: Words that run the next word as the command (``sudo -u git git fsck``); see interactive.py.
WRAPPERS = frozenset({"sudo", "env", "nohup", "time", "nice", "ionice", "timeout", "exec"})

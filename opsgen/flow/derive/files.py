"""Rules about files: mode and owner, exact content, symlinks, the folders and files a
request works on without making them, what must stay, and files swept by age or size."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from opsgen.flow.derive.system import (
    _EXISTING_SETTING,
    _SET_TO,
    _SETTING,
)
from opsgen.flow.derive.words import (
    _NAME,
    _NOT_NAMES,
    _PATH,
    _check,
    _made,
    _one_file,
    _paths,
    _q,
    _sentences,
)
from opsgen.scenario import Check

#: The request makes the path (so a fresh sandbox can judge its mode and owner); a path
#: the request only "fixes" is state the server has and the sandbox does not.
_MAKES = re.compile(r"\b(?:create|creates|creating|make|makes|mkdir|set\s+up|add|install|"
                    r"put|write|writes|deploy|provision|new)\b", re.I)


def _owner_is(path: str, user: str) -> Check:
    return _check(f"{path} is owned by {user}", f"[ \"$(stat -c %U -- {_q(path)})\" = {_q(user)} ]")


def _group_is(path: str, group: str) -> Check:
    return _check(f"{path} has group {group}", f"[ \"$(stat -c %G -- {_q(path)})\" = {_q(group)} ]")


def _mode_is(path: str, mode: str) -> Check:
    """``mode`` as the request wrote it (``0750``), compared as ``stat`` prints it (750)."""
    return _check(f"{path} has mode {mode}",
                  f"[ \"$(stat -c %a -- {_q(path)})\" = {format(int(mode, 8), 'o')} ]")


def _path_before(sentence: str, start: int, *, commas: bool) -> str | None:
    """The one path between the start of ``sentence``'s clause and ``start`` (a mode or
    "owned by"): "Create /srv/r owned by root with mode 0750" reads /srv/r; "data gets
    mode 0750, /opt/app ..." reads nothing (the path comes after, and it is another one).
    ``commas``: a comma ends a clause ("data 0750, /opt/app 0755" are two)."""
    head = sentence[:start]
    cut = max(head.rfind(";"), head.rfind(",") if commas else -1)
    paths = list(dict.fromkeys(_paths(head[cut + 1:])))
    return paths[0] if len(paths) == 1 else None


#: What may stand between a path and its mode besides commas: the path's own owner and
#: group ("/srv/r owned by root with group analysts, mode 2775").
_ATTRIBUTES = re.compile(rf"(?:[\s,]|\band\b|\bwith\b|\bowned\s+by\s+(?:the\s+user\s+)?"
                         rf"{_NAME}(?::{_NAME})?|\b(?:the\s+)?(?:group|owner)\s+{_NAME})*",
                         re.I)


def _attributed(sentence: str, start: int) -> str | None:
    """The sentence's one path when only its owner and group are written between it and
    ``start`` (a mode after a comma that :func:`_path_before` cannot place)."""
    paths = _paths(sentence[:start])
    if len(paths) != 1:
        return None
    between = sentence[sentence.rfind(paths[0], 0, start) + len(paths[0]):start]
    return paths[0] if "," in between and _ATTRIBUTES.fullmatch(between) else None


def _it(text: str, sentence: str, start: int) -> str | None:
    """The file "it" stands for: "/etc/myapp/db.conf is world-readable. Make it owned by
    root, mode 0640" reads /etc/myapp/db.conf when that is the request's only path and a
    file the server has (the prepare makes it), the sentence names none and "it" is the
    clause's subject (nothing but "make/set it" before)."""
    if _paths(sentence):
        return None
    head = sentence[:start]
    head = head[max(head.rfind(";"), head.rfind(",")) + 1:]
    if not re.fullmatch(r"\s*(?:(?:and|then|also|please)\s+)*(?:make|set|leave|have)\s+it\s+"
                        r"(?:be\s+)?(?:owned\s+by\s+\S+(?:\s+with)?(?:\s+group\s+\S+)?"
                        r"(?:,|\s+and|\s+with)?\s*)?", head, re.I):
        return None
    paths = list(dict.fromkeys(_paths(text)))
    return paths[0] if len(paths) == 1 and paths[0] in presupposed_paths(text)[1] else None


def _mode(text: str) -> Iterator[Check]:
    if not _MAKES.search(text):
        return
    for sentence in _sentences(text):
        for m in re.finditer(r"\b(?:mode|permissions?|perms|chmod)\s+(?:of\s+|to\s+|set\s+to\s+)?"
                             r"(0?[0-7]{3,4})\b", sentence, re.I):
            it = _it(text, sentence, m.start())
            path = it or _path_before(sentence, m.start(), commas=True) or _attributed(
                sentence, m.start())
            if path is None or (it is None and len(_paths(sentence)) != 1):
                continue
            between = sentence[sentence.find(path) + len(path):m.start()]
            if re.search(r"\b(?:file|directory|folder|dir|link)s?\b", between, re.I):
                continue  # "create DIR (mode 700) with a keys file (mode 600)": not DIR's
            yield _mode_is(path, m.group(1))


def _owner(text: str) -> Iterator[Check]:
    if not _MAKES.search(text):
        return
    for sentence in _sentences(text):
        for m in re.finditer(rf"\bowned\s+by\s+(?:the\s+)?(?:user\s+)?({_NAME})"
                             rf"(?:\s*:\s*({_NAME})|(?:\s+and|\s+with|\s*,)\s+(?:the\s+)?"
                             rf"group\s+({_NAME}))?", sentence):
            it = _it(text, sentence, m.start())
            path = it or _path_before(sentence, m.start(), commas=False)
            if (path is None or (it is None and len(_paths(sentence)) != 1)
                    or m.group(1) in _NOT_NAMES):
                continue
            group = m.group(2) or m.group(3)
            yield _owner_is(path, m.group(1))
            if group and group not in _NOT_NAMES:
                yield _group_is(path, group)


def _attributes(text: str) -> Iterator[Check]:
    """"PATH: owner root, group myapp, mode 0640" for a path the request makes or works on
    (the prepare has it): each attribute is a check."""
    dirs, files = presupposed_paths(text)
    for m in re.finditer(rf"({_PATH}):\s+((?:(?:owner|group|mode)\s+[\w-]+(?:,\s*|\s+and\s+)?)+)",
                         text):
        path, items = m.group(1), dict(re.findall(r"(owner|group|mode)\s+([\w-]+)", m.group(2)))
        if path not in (*dirs, *files) and not _made(text, path):
            continue
        owner, group, mode = items.get("owner"), items.get("group"), items.get("mode")
        if owner and re.fullmatch(_NAME, owner) and owner not in _NOT_NAMES:
            yield _owner_is(path, owner)
        if group and re.fullmatch(_NAME, group) and group not in _NOT_NAMES:
            yield _group_is(path, group)
        if mode and re.fullmatch(r"0?[0-7]{3,4}", mode):
            yield _mode_is(path, mode)


def _exact_content(text: str) -> Iterator[Check]:
    pattern = (r"(" + _PATH + r")\s+(?:should\s+)?contains?\s+exactly\s+(?:one|1|a\s+single)\s+"
               r"line[:,]?\s+[\"“]([^\"”\n]{1,200})[\"”]")
    for m in re.finditer(pattern, text, re.I):
        path, line = m.group(1), m.group(2)
        if "'" in line:
            continue
        quoted = _q(path)
        yield _check(f"{path} holds exactly the line {line!r}",
                     f"[ \"$(cat -- {quoted})\" = {_q(line)} ] && "
                     f"[ \"$(wc -l < {quoted})\" -le 1 ]")


_LINK = (
    rf"\bsym(?:bolic\s+)?link\s+(?:called\s+|named\s+|at\s+)?({_PATH})\s+(?:that\s+|which\s+)?"
    rf"(?:points?|pointing)\s+(?:to|at)\s+({_PATH})",
    rf"(?<![\w/.-])({_PATH})\s+sym(?:bolic\s+)?link\b[^.;]{{0,80}}?\bto\s+(?:the\s+)?"
    rf"(?:new\s+)?(?:release\s+|directory\s+|folder\s+)?({_PATH})",
)


def _links(text: str) -> list[tuple[str, str]]:
    found: dict[str, set[str]] = {}
    for pattern in _LINK:
        for m in re.finditer(pattern, text, re.I):
            found.setdefault(m.group(1).rstrip("/"), set()).add(m.group(2).rstrip("/"))
    return [(link, targets.pop()) for link, targets in found.items() if len(targets) == 1]


def _symlink(text: str) -> Iterator[Check]:
    """A symlink that points where the request says (compared as resolved paths, so a
    relative target is as good as an absolute one)."""
    for link, target in _links(text):
        yield _check(f"{link} is a symlink to {target}",
                     f"[ -L {_q(link)} ] && "
                     f"[ \"$(readlink -m -- {_q(link)})\" = \"$(readlink -m -- {_q(target)})\" ]")


def _named_previous(text: str, target: str) -> str | None:
    """Where a link the request switches points now, when it says: "from PATH", or "from
    the NAME release to DIR/NEW" (a sibling DIR/NAME)."""
    parent = target.rsplit("/", 1)[0]
    said = re.search(rf"\bfrom\s+(?:the\s+)?(?:({_PATH})|([A-Za-z0-9][A-Za-z0-9._-]{{0,60}})\s+"
                     r"(?:release|version|build|deploy(?:ment)?))\s+to\b", text, re.I)
    if said and said.group(1) and said.group(1) != target:
        return said.group(1)
    if said and said.group(2):
        return f"{parent}/{said.group(2)}"
    return None


def _previous(text: str, target: str) -> str:
    """Where a link the request switches points now (:func:`_named_previous`), else a
    placeholder beside the new target."""
    return _named_previous(text, target) or f"{target.rsplit('/', 1)[0]}/opsgen-previous"


_SWITCH = re.compile(r"\b(?:switch|repoint|re-point|change|update|move|flip)\b", re.I)
_REMOVAL = re.compile(r"\b(?:remove|delete|clean|prune|purge|drop|rm)\b", re.I)


def _kept_release(text: str) -> Iterator[Check]:
    """A link switched "from" a release the request names leaves that release in place,
    unless the request asks to remove something: a switch is a change of the link (a
    rollback needs the old release), and a script that deleted it was vetted before."""
    if not _SWITCH.search(text) or _REMOVAL.search(text):
        return
    for _link, target in _links(text):
        old = _named_previous(text, target)
        if old is not None:
            yield _check(f"the previous release {old} is still there", f"[ -e {_q(old)} ]")


_DIR_CUES = (
    rf"\b(?:files?|logs?|directories|folders)\b[^.;/]{{0,40}}?\b(?:in|under)\s+({_PATH})",
    rf"\b(?:under|(?:clean|clear)\s+out|"
    rf"(?<!home\s)(?:directory|folder)|inside|within)\s+({_PATH})",
    rf"(?<![\w/.-])({_PATH})\s+(?:directory|folder)\b",
)


_FILE_CUES = (
    rf"\bfrom\s+({_PATH}),?\s+(?:print|count|show|list|report|extract|find)",
    rf"\blocks?\s+down\s+({_PATH})",
    rf"(?:^|[.:;!?]\s+)in\s+({_PATH}),\s+(?:replace|set|change|add|remove|comment|uncomment)",
)


_KEEP_LINES = re.compile(
    r"\b(?:keep|leave|preserve)\b[^.;]{0,30}\bother\s+(?:lines|variables|settings|entries|jobs|"
    r"options)\b|\bother\s+(?:lines|variables|settings|entries|jobs|options)\b[^.;]{0,30}"
    r"\b(?:stay|remain|unchanged|as\s+they\s+are)\b", re.I)


KEEP_LINE = "# opsgen-keep: a line that must stay"


#: "Don't change what's in it", "its contents must not change", "keep its contents": the
#: request changes a file's attributes (or moves it) and says its bytes stay as they are.
_KEEP_CONTENT = re.compile(
    r"\b(?:don'?t|do\s+not|must\s+not|mustn'?t|should\s+not|shouldn'?t|never|without)\s+"
    r"(?:chang|modif|edit|touch|alter|rewrit|overwrit)\w*\s+(?:what'?s\s+in\s+(?:it|the\s+file)|"
    r"(?:its|their|the(?:\s+file'?s)?)\s+(?:contents?|data|text))\b"
    r"|\b(?:its|their|the(?:\s+file'?s)?)\s+contents?\s+(?:must|should|may|can|will)\s*"
    r"(?:not\s+|n'?t\s+)change\b"
    r"|\b(?:its|their|the(?:\s+file'?s)?)\s+contents?\s+(?:stays?|remains?)\s+(?:the\s+same|"
    r"unchanged|as\s+(?:it\s+is|they\s+are))"
    r"|\b(?:keep|leave|preserve)\s+(?:its|their|the(?:\s+file'?s)?)\s+contents?\s+(?:alone|"
    r"unchanged|intact|as\s+(?:it\s+is|they\s+are))", re.I)

#: The first line the prepare writes into a file whose contents must stay, when the fresh
#: sandbox has it empty (a server's file has something in it; an empty one shows nothing).
KEEP_CONTENT_LINE = "# opsgen-keep: contents that must not change"

#: Where the prepare records the checksum of a file whose contents must stay.
KEEP_CONTENT_DIR = "/var/lib/opsgen-keep"


@functools.lru_cache(maxsize=32)
def kept_content_file(text: str) -> str | None:
    """The one file whose contents the request says must not change: the one path of the
    sentence that says so, else the request's only path ("/etc/myapp/db.conf is world-
    readable. Make it mode 0640. Don't change what's in it."). None when unsure, or when
    the request creates that file (it has no contents to keep; "make PATH mode 0640" only
    changes it)."""
    for sentence in _sentences(text):
        if not _KEEP_CONTENT.search(sentence):
            continue
        paths = list(dict.fromkeys(_paths(sentence))) or list(dict.fromkeys(_paths(text)))
        if len(paths) != 1 or paths[0].count("/") < 2 or _made(text, paths[0],
                                                              changing_make=True):
            return None
        return paths[0]
    return None


def keep_content_slug(path: str) -> str:
    """The checksum file's name for ``path`` (a hash: paths may hold any character)."""
    return f"{KEEP_CONTENT_DIR}/{hashlib.sha256(path.encode()).hexdigest()[:16]}.sha256"


@functools.lru_cache(maxsize=32)
def presupposed_paths(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(directories, files) the request works in or edits without making them: the state
    a server has and a fresh sandbox does not ("delete old files under /srv/tmp", "in
    /etc/default/app, replace ..."). Several rules and the prepare ask for the same text,
    so the answer is kept."""
    dirs: list[str] = []
    files: list[str] = []
    for patterns, into in ((_DIR_CUES, dirs), (_FILE_CUES, files)):
        for pattern in patterns:
            for m in re.finditer(pattern, text, re.I):
                path = m.group(1).rstrip("/")
                if path.count("/") >= 2 and path not in into and not _made(text, path):
                    into.append(path)
    # A file the request sets a key in exists only when the request says it changes what
    # is there ("the existing setting", "keep the other lines"): "a drop-in FILE setting
    # KEY=V" asks for a new file, and a prepared one would hide a script that cannot make it.
    edited = [m.group(3) for m in _SET_TO.finditer(text)]
    target = _one_file(text)
    if target is not None and _SETTING.search(text):
        edited.append(target)
    if not (_EXISTING_SETTING.search(text) or _KEEP_LINES.search(text)):
        edited = []
    for path in edited:
        if path not in files and not _made(text, path):
            files.append(path)
    kept = kept_content_file(text)
    if kept is not None and kept not in files and kept not in dirs:
        files.append(kept)
    return tuple(dirs), tuple(f for f in files if f not in dirs)


def _kept(text: str) -> Iterator[Check]:
    """What the request says must stay: a folder "itself", the other lines of a file it
    edits (the prepare writes one there), a file's contents (the prepare records their
    checksum)."""
    dirs, files = presupposed_paths(text)
    for path in dirs:
        if re.search(rf"{re.escape(path)}\s+itself\b|\bkeep\s+the\s+(?:directory|folder)\s+"
                     r"itself\b", text, re.I):
            yield _check(f"{path} is still a directory", f"[ -d {_q(path)} ]")
    if _KEEP_LINES.search(text):
        for path in files:
            yield _check(f"the other lines of {path} stay",
                         f"grep -qxF {_q(KEEP_LINE)} {_q(path)}")
    kept = kept_content_file(text)
    if kept is not None and kept in files:
        yield _check(f"the contents of {kept} stay as they were",
                     f"sha256sum --quiet --status -c {_q(keep_content_slug(kept))}")


@dataclass(frozen=True, slots=True)
class _Sweep:
    """"delete the files in DIR older than 14 days", "gzip the .log files in DIR bigger than
    10 MB": what to do, to which files, and the sample files that show it was done."""

    folder: str
    action: str  # "delete" or "compress"
    ext: str  # "" or ".log"
    days: int | None
    megabytes: int | None

    def old(self) -> str:
        return f"{self.folder}/opsgen-{'old' if self.days else 'big'}{self.ext or '.dat'}"

    def new(self) -> str:
        return f"{self.folder}/opsgen-{'new' if self.days else 'small'}{self.ext or '.dat'}"

    def other(self) -> str | None:
        """An old (or big) file of another type, which a sweep of one type leaves alone."""
        if not self.ext:
            return None
        return f"{self.folder}/opsgen-{'old' if self.days else 'big'}.keep"


_SWEEP_VERB = re.compile(r"\b(?:(delete|remove|prune|purge|clean\s+(?:out|up))|(gzip|compress))\b",
                         re.I)


_AGE = re.compile(r"\bolder\s+than\s+(\d{1,4})\s+days?\b|\bnot\s+(?:been\s+)?modified\s+in\s+the\s+"
                  r"last\s+(\d{1,4})\s+days?\b|\bmore\s+than\s+(\d{1,4})\s+days?\s+old\b", re.I)


_SIZE = re.compile(r"\b(?:bigger|larger|greater)\s+than\s+(\d{1,5})\s*(?:MB|M|MiB)\b", re.I)


_EXT = re.compile(r"(?:\*|\bevery\s+|\ball\s+|\bthe\s+|\s)\.([a-z0-9]{1,8})\s+files?\b|"
                  r"\*\.([a-z0-9]{1,8})\b", re.I)


def _sweep(text: str) -> _Sweep | None:
    verbs = {("compress" if m.group(2) else "delete") for m in _SWEEP_VERB.finditer(text)}
    ages = {int(next(g for g in m.groups() if g)) for m in _AGE.finditer(text)}
    sizes = {int(m.group(1)) for m in _SIZE.finditer(text)}
    exts = {(m.group(1) or m.group(2)).lower() for m in _EXT.finditer(text)}
    dirs, _files = presupposed_paths(text)
    if len(verbs) != 1 or len(dirs) != 1 or len(exts) > 1 or len(ages) + len(sizes) != 1:
        return None
    if re.search(r"\b(?:archive|move|copy|rotate|report|list|print|count|show)\b", text, re.I):
        return None  # another action on the same files: the samples would not tell
    return _Sweep(dirs[0], verbs.pop(), "." + exts.pop() if exts else "",
                  ages.pop() if ages else None, sizes.pop() if sizes else None)


def _sweep_samples(sweep: _Sweep) -> list[str]:
    """Prepare lines: a file the sweep must act on, one it must leave, one of another type
    (in the folder, which the prepare makes as a presupposed one)."""
    lines: list[str] = []
    targets = [(sweep.old(), True), (sweep.new(), False)]
    other = sweep.other()
    if other is not None:
        targets.append((other, True))
    for path, hit in targets:
        q = _q(path)
        if sweep.days is not None:
            when = f"{sweep.days + 30} days ago" if hit else "1 hour ago"
            lines.append(f"[ -e {q} ] || {{ echo sample > {q} && touch -d {_q(when)} {q}; }}")
        else:
            size = f"{(sweep.megabytes or 0) + 2}M" if hit else "1K"
            lines.append(f"[ -e {q} ] || truncate -s {size} {q}")
    return lines


def _swept(text: str) -> Iterator[Check]:
    """The sample file the request's sweep must act on was acted on; the others stay."""
    sweep = _sweep(text)
    if sweep is None:
        return
    hit, kept, other = _q(sweep.old()), _q(sweep.new()), sweep.other()
    which = f"older than {sweep.days} days" if sweep.days else f"bigger than {sweep.megabytes} MB"
    if sweep.action == "delete":
        yield _check(f"a file {which} in {sweep.folder} is deleted", f"[ ! -e {hit} ]")
    else:
        yield _check(f"a file {which} in {sweep.folder} is compressed",
                     f"[ ! -e {hit} ] && gzip -t -- {_q(sweep.old() + '.gz')}")
    yield _check(f"a file not {which} in {sweep.folder} is still there", f"[ -f {kept} ]")
    if other is not None:
        yield _check(f"a file of another type in {sweep.folder} is still there",
                     f"[ -f {_q(other)} ]")

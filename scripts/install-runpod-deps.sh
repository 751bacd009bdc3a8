#!/usr/bin/env bash
# Install the worker's Python stack onto persistent storage (<root>/packages, pip --target) at start-up.
# Usage: scripts/install-runpod-deps.sh [--help]
#
# Nothing to do (stamp and pinned versions match) takes one short Python process. Otherwise, under a
# lock on <root>/install.lock: remove packages at other versions or with missing files, restore the
# wheelhouse <root>/wheels from the bucket (wheels/), download the wheels still missing (retried with
# backoff) and upload them back, install everything from the wheelhouse with --no-index, verify, and
# write the stamp <root>/packages/.install-stamp (sha256 of the requirements file). An interrupted
# install leaves no stamp, so the next start checks every file and redoes what is incomplete.
# flash-attn: only on CUDA, only from FLASH_ATTN_WHEEL_URL, only when its tags match torch and Python.
#
# Variables read (defaults in brackets):
#   WORKER_ROOT            persistent root; unset: scripts/setup-backblaze-storage.sh is run and sourced
#   PYTHON                 the worker's interpreter [python, else python3]
#   REQUIREMENTS_FILE      complete lock, every package pinned with == [requirements.txt of this repo]
#   INSTALL_MIN_FREE_MB    free space needed on the root before each writing step [12000]
#   INSTALL_RETRIES        attempts per download, 1 = no retry [3]
#   INSTALL_BACKOFF_S      first wait between attempts, doubled each time; may be fractional [5]
#   INSTALL_TIMEOUT_S      pip's network timeout per read, seconds [120]
#   INSTALL_LOCK_TIMEOUT_S longest wait for another process's install on the same root [1800]
#   WHEELS_PREFIX          bucket prefix of the wheelhouse [wheels/]
#   FLASH_ATTN_WHEEL_URL   prebuilt flash-attn wheel (https:// or file://); unset: no flash-attn
#   FORCE_CUDA             1: treat the machine as CUDA-capable without nvidia-smi [unset]
#   PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_RETRIES, ...  read by pip itself
# Exit status: 0 installed (or nothing to do), 1 failure, 2 bad configuration.
set -euo pipefail

NAME=install-runpod-deps
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(dirname "$HERE")

# pip rather than uv: `pip wheel` fills the wheelhouse that makes fresh workers independent of the
# package index (uv has no download command), pip ships with every CPython (ensurepip) so the image
# needs no extra binary, and once the wheels are local the time goes into unpacking onto the volume,
# where uv's resolver speed does not help.
PIP=()
CURRENT_STEP=""
STEP_T0=0
STAGES=()

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

step_begin() {
  CURRENT_STEP=$1
  STEP_T0=$(now_us)
  log "$1: start"
}

step_end() {
  log "$CURRENT_STEP: done in $(since "$STEP_T0")${1:+ ($1)}"
  CURRENT_STEP=""
}

on_exit() {
  local status=$?
  if ((status != 0)) && [[ -n "$CURRENT_STEP" ]]; then
    log "$CURRENT_STEP: FAILED after $(since "$STEP_T0") (exit $status)"
  fi
  if ((${#STAGES[@]})); then rm -rf "${STAGES[@]}"; fi
}
trap on_exit EXIT

# A fresh staging folder on the root's file system, in STAGE (renames into place stay cheap and atomic).
new_stage() {
  STAGE=$(mktemp -d "$ROOT/tmp/stage-XXXXXX")
  STAGES+=("$STAGE")
}

free_mb() {
  df -Pk "$1" | awk 'NR == 2 { print int($4 / 1024) }'
}

mount_of() {
  df -P "$1" | awk 'NR == 2 { print $6 }'
}

clean_pip_caches() {
  rm -rf "${ROOT:?}/pip-cache/"* "$ROOT/tmp/"pip-* 2>/dev/null || true
  if [[ -n "${PIP_CACHE_DIR:-}" && "$PIP_CACHE_DIR" == "$ROOT"/* && -d "$PIP_CACHE_DIR" ]]; then
    rm -rf "${PIP_CACHE_DIR:?}/"* 2>/dev/null || true
  fi
}

# Refuse to start a writing step without INSTALL_MIN_FREE_MB free: a clear stop beats a full disk.
need_space() {
  local what=$1 free
  free=$(free_mb "$ROOT")
  if ((free >= INSTALL_MIN_FREE_MB)); then
    log "disk: $free MB free on $(mount_of "$ROOT") for $what (INSTALL_MIN_FREE_MB=$INSTALL_MIN_FREE_MB)"
    return
  fi
  log "disk: only $free MB free on $(mount_of "$ROOT"), $INSTALL_MIN_FREE_MB MB needed for $what: cleaning pip caches"
  clean_pip_caches
  free=$(free_mb "$ROOT")
  if ((free < INSTALL_MIN_FREE_MB)); then
    die 1 "not enough disk space for $what: $INSTALL_MIN_FREE_MB MB needed on $(mount_of "$ROOT") (the file system of $ROOT), $free MB free after cleaning pip caches; free space there, use a larger volume, or lower INSTALL_MIN_FREE_MB"
  fi
  log "disk: $free MB free after cleaning pip caches"
}

# Run "$@" up to INSTALL_RETRIES times, waiting INSTALL_BACKOFF_S, then twice as long, ... in between.
retry() {
  local what=$1 attempt=1 status delay
  shift
  while true; do
    log "$what: attempt $attempt/$INSTALL_RETRIES"
    if "$@"; then
      return 0
    else
      status=$?
    fi
    if ((attempt >= INSTALL_RETRIES)); then
      log "$what: attempt $attempt/$INSTALL_RETRIES failed (exit $status); giving up"
      return "$status"
    fi
    delay=$(awk -v base="$INSTALL_BACKOFF_S" -v n="$attempt" 'BEGIN { printf "%g", base * 2 ^ (n - 1) }')
    log "$what: attempt $attempt/$INSTALL_RETRIES failed (exit $status); retrying in ${delay}s"
    sleep "$delay"
    attempt=$((attempt + 1))
  done
}

# The Python side, run by the worker's interpreter without PYTHONPATH (only the target dir counts).
helper() {
  env -u PYTHONPATH "$PYTHON" - "$@" <<'PY'
import importlib
import importlib.metadata as metadata
import os
import platform
import re
import shutil
import sys
import sysconfig
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote, urlsplit

FLASH = "flash-attn"
FLASH_RECORD = ".flash-attn-wheel"


def fail(message, status=2):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(status)


def bundled_pip_wheel():
    import ensurepip

    bundled = Path(ensurepip.__file__).parent / "_bundled"
    wheels = sorted(bundled.glob("pip-*.whl"))
    return str(wheels[-1]) if wheels else None


def load_packaging():
    """packaging from this interpreter, else pip's vendored copy, else the copy in ensurepip's pip wheel."""
    for base in ("packaging", "pip._vendor.packaging", "bundled"):
        if base == "bundled":
            wheel = bundled_pip_wheel()
            if not wheel:
                break
            sys.path.insert(0, wheel)
            base = "pip._vendor.packaging"
        try:
            mods = {part: importlib.import_module(f"{base}.{part}") for part in ("requirements", "tags", "utils", "version")}
        except ImportError:
            continue
        return SimpleNamespace(
            Requirement=mods["requirements"].Requirement,
            sys_tags=mods["tags"].sys_tags,
            parse_tag=mods["tags"].parse_tag,
            canonicalize_name=mods["utils"].canonicalize_name,
            parse_wheel_filename=mods["utils"].parse_wheel_filename,
            InvalidWheelFilename=mods["utils"].InvalidWheelFilename,
            Version=mods["version"].Version,
            InvalidVersion=mods["version"].InvalidVersion,
        )
    fail("neither packaging nor pip is importable by this Python")


def same_version(pkg, a, b):
    try:
        return pkg.Version(a) == pkg.Version(b)
    except pkg.InvalidVersion:
        return a == b


def read_requirements(pkg, path):
    """{canonical name: (name, version)} of a complete lock; every line must pin one version with ==."""
    text = re.sub(r"\\\r?\n", " ", Path(path).read_text())
    pins, ignored = {}, []
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.split(r"(?:^|\s)#", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            ignored.append(line.split()[0])
            continue
        line = re.split(r"\s--hash[=\s]", line, maxsplit=1)[0].strip()
        try:
            req = pkg.Requirement(line)
        except Exception as exc:  # packaging's InvalidRequirement, whichever copy raised it
            fail(f"{path} line {number}: cannot parse {line!r}: {exc}")
        if req.marker is not None and not req.marker.evaluate():
            continue
        specs = list(req.specifier)
        if req.url or len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
            fail(f"{path} line {number}: {line!r} is not pinned with == (REQUIREMENTS_FILE must be a complete lock)")
        pins[pkg.canonicalize_name(req.name)] = (req.name, specs[0].version)
    if ignored:
        print(f"note: option lines in {path} are ignored ({', '.join(sorted(set(ignored)))}); "
              "set PIP_INDEX_URL / PIP_EXTRA_INDEX_URL instead", file=sys.stderr)
    return pins


def installed(pkg, target):
    found = {}
    for dist in metadata.distributions(path=[str(target)]):
        name = dist.metadata["Name"]
        if name:
            found.setdefault(pkg.canonicalize_name(name), []).append(dist)
    return found


def broken_file(dist):
    """The first file of the dist's RECORD that is missing or has another size, else None."""
    files = dist.files
    if files is None:
        return "no RECORD"
    for item in files:
        if item.size is None or ".." in item.parts:
            continue
        try:
            size = os.stat(dist.locate_file(item)).st_size
        except OSError:
            return f"missing {item}"
        if size != item.size:
            return f"{item} has {size} bytes, not {item.size}"
    return None


def foreign_tags(pkg, dist, supported):
    """The wheel tags of an installed dist when none of them fits this interpreter (another Python's build)."""
    try:
        text = dist.read_text("WHEEL") or ""
    except OSError:
        return None
    tags = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Tag:")]
    if not tags or any(pkg.parse_tag(tag) & supported for tag in tags):
        return None
    return ", ".join(tags)


def expected_stamp(sha):
    return f"requirements_sha256={sha}\npython={sys.implementation.cache_tag}\nplatform={sysconfig.get_platform()}\n"


def torch_facts(target):
    """Version, CUDA major and C++11 ABI of the torch the worker will import (target dir first)."""
    for dist in metadata.distributions(path=[str(target), *sys.path]):
        if (dist.metadata["Name"] or "").lower() != "torch":
            continue
        version_py = Path(dist.locate_file("torch/version.py"))
        cuda = None
        if version_py.is_file():
            match = re.search(r"^cuda\b[^=]*=\s*['\"](\d+)\.(\d+)", version_py.read_text(), re.M)
            cuda = match.group(1) if match else None
        libc10 = Path(dist.locate_file("torch/lib/libc10.so"))
        # libraries built with the C++11 ABI export std::__cxx11 symbols; the others never do
        abi = (b"St7__cxx11" in libc10.read_bytes()) if libc10.is_file() else None
        return SimpleNamespace(version=dist.version, cuda=cuda, abi=abi)
    return None


def flash_problems(target, filename):
    """Why the flash-attn wheel ``filename`` cannot run here ([] when its tags match)."""
    match = re.fullmatch(r"flash_attn-(?P<version>[^-]+)-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl", filename)
    local = match and re.search(r"\+cu(\d+)torch(\d+\.\d+)cxx11abi(true|false)", match["version"], re.I)
    if not local:
        return [f"{filename!r} is not a flash-attn wheel name like "
                "flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"]
    problems = []
    python_tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    if match["py"] != python_tag:
        problems.append(f"wheel is for Python {match['py']}, the worker runs {python_tag}")
    machine = platform.machine()
    if not (match["plat"].startswith(("linux", "manylinux")) and match["plat"].endswith(machine)):
        problems.append(f"wheel platform {match['plat']} does not fit linux {machine}")
    torch = torch_facts(target)
    if torch is None:
        return [*problems, "torch is not installed"]
    cuda_tag, torch_tag, abi_tag = local.group(1), local.group(2), local.group(3).upper() == "TRUE"
    torch_minor = ".".join(torch.version.split("+")[0].split(".")[:2])
    if torch_tag != torch_minor:
        problems.append(f"wheel is for torch {torch_tag}, torch {torch.version} is installed")
    cuda_major = cuda_tag if len(cuda_tag) <= 2 else cuda_tag[:-1]
    if torch.cuda is None:
        problems.append(f"wheel is for CUDA {cuda_major}, the installed torch is a CPU build")
    elif cuda_major != torch.cuda:
        problems.append(f"wheel is for CUDA {cuda_major}, torch {torch.version} is built for CUDA {torch.cuda}")
    if torch.abi is not None and torch.abi != abi_tag:
        problems.append(f"wheel has cxx11abi{str(abi_tag).upper()}, torch {torch.version} is built with "
                        f"cxx11abi{str(torch.abi).upper()}")
    return problems


def wheel_name_of(url):
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def cmd_plan(req_file, target, stamp, sha, need_file, remove_file, flash_url=""):
    """What the target dir lacks; one process, metadata only (plus file sizes when the stamp is not valid)."""
    pkg = load_packaging()
    target = Path(target)
    pins = read_requirements(pkg, req_file)
    stamp_path = Path(stamp)
    if not stamp_path.is_file():
        stamp_state = "missing"
    elif stamp_path.read_text() == expected_stamp(sha):
        stamp_state = "ok"
    else:
        stamp_state = "other"
    deep = stamp_state != "ok"
    have = installed(pkg, target)
    supported = set(pkg.sys_tags()) if deep else set()
    need, remove, reasons = [], set(), []
    for name, (display, version) in sorted(pins.items()):
        dists = have.get(name, [])
        why = None
        if not dists:
            why = "missing"
        elif len(dists) > 1:
            why = "installed more than once (" + ", ".join(d.version for d in dists) + ")"
        elif not same_version(pkg, dists[0].version, version):
            why = f"{dists[0].version} installed"
        elif deep:
            foreign = foreign_tags(pkg, dists[0], supported)
            why = f"built for another Python or platform ({foreign})" if foreign else broken_file(dists[0])
        if why:
            need.append(f"{display}=={version}")
            reasons.append(f"{display}=={version}: {why}")
            if dists:
                remove.add(name)
    extra = sorted(name for name in have if name not in pins and name != FLASH)
    remove.update(extra)
    Path(need_file).write_text("".join(f"{line}\n" for line in need))
    Path(remove_file).write_text("".join(f"{name}\n" for name in sorted(remove)))
    for line in reasons[:20]:
        print(f"  need {line}", file=sys.stderr)
    if len(reasons) > 20:
        print(f"  ... and {len(reasons) - 20} more", file=sys.stderr)
    if extra:
        print(f"  not in the requirements, to remove: {', '.join(extra)}", file=sys.stderr)
    print(f"stamp={stamp_state}")
    print(f"total={len(pins)}")
    print(f"need={len(need)}")
    print(f"remove={len(remove)}")
    print(f"deep={int(deep)}")
    record = target / FLASH_RECORD
    if record.is_file():
        problems = flash_problems(target, record.read_text().strip())
        if problems:
            print(f"flash_stale={'; '.join(problems)}")
    if FLASH in pins:
        print("flash_pinned=1")
    elif flash_url:
        filename = wheel_name_of(flash_url)
        print(f"flash_wheel={filename}")
        problems = flash_problems(target, filename)
        if problems:
            print(f"flash=mismatch\nflash_reason={'; '.join(problems)}")
        elif record.is_file() and record.read_text().strip() == filename and FLASH in have:
            print("flash=installed")
        else:
            print("flash=install")


def cmd_remove(target, names_file):
    """Uninstall dists from the target dir by their RECORD, leaving shared namespace folders to the others."""
    pkg = load_packaging()
    target = Path(target).resolve()
    names = {pkg.canonicalize_name(line.strip()) for line in Path(names_file).read_text().splitlines() if line.strip()}
    have = installed(pkg, target)
    removed, folders = 0, set()
    for name in sorted(names):
        for dist in have.get(name, []):
            for item in dist.files or []:
                if ".." in item.parts:
                    continue
                path = Path(dist.locate_file(item))
                if target not in path.resolve().parents:
                    continue
                path.unlink(missing_ok=True)
                if path.suffix == ".py":
                    for cached in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
                        cached.unlink(missing_ok=True)
                folders.update(p for p in path.parents if target in p.parents)
            info = getattr(dist, "_path", None)
            if info is not None and target in Path(info).resolve().parents:
                shutil.rmtree(info, ignore_errors=True)
            if name == FLASH:
                (target / FLASH_RECORD).unlink(missing_ok=True)
            removed += 1
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        pycache = folder / "__pycache__"
        if pycache.is_dir() and not any(pycache.iterdir()):
            pycache.rmdir()
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    print(f"removed {removed} installed distribution(s)")


def cmd_patterns(need_file):
    """File-name globs (for s3sync pull --include-from) matching the wheels of the needed pins."""
    for line in Path(need_file).read_text().split():
        name, _, version = line.partition("==")
        print(re.sub(r"[-_.]+", "[-_.]", name.lower()) + f"-{version}-*.whl")


def cmd_cover(wheels, need_file, out_file):
    """Write the needed pins that no compatible wheel in the wheelhouse provides; print how many."""
    pkg = load_packaging()
    supported = set(pkg.sys_tags())
    available = set()
    for path in Path(wheels).glob("*.whl"):
        try:
            name, version, _build, tags = pkg.parse_wheel_filename(path.name)
        except (pkg.InvalidWheelFilename, pkg.InvalidVersion):
            continue
        if tags & supported:
            available.add((name, version))
    missing = []
    for line in Path(need_file).read_text().split():
        name, _, version = line.partition("==")
        if (pkg.canonicalize_name(name), pkg.Version(version)) not in available:
            missing.append(line)
    Path(out_file).write_text("".join(f"{line}\n" for line in missing))
    print(len(missing))


def cmd_merge(stage, target):
    """Move a staged --target install into the target file by file (dist-info last), then drop the stage.

    pip's own --target --upgrade replaces whole top-level folders, which deletes the other packages
    of shared namespace folders (nvidia/, google/); moving files keeps them.
    """
    stage, target = Path(stage), Path(target)
    files = []
    for folder, dirs, names in os.walk(stage):
        for entry in list(dirs):
            if os.path.islink(os.path.join(folder, entry)):
                dirs.remove(entry)
                names.append(entry)
        files.extend(Path(folder, name).relative_to(stage) for name in names)
    files.sort(key=lambda rel: (rel.parts[0].endswith(".dist-info"), str(rel)))
    made = set()
    for rel in files:
        dest = target / rel
        for parent in reversed(dest.parents):
            if parent.is_file() or parent.is_symlink():
                parent.unlink()
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        os.replace(stage / rel, dest)
    shutil.rmtree(stage, ignore_errors=True)
    print(f"merged {len(files)} file(s)")


def cmd_stamp(stamp, sha):
    path = Path(stamp)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(expected_stamp(sha))
    os.replace(tmp, path)


def cmd_bundled_pip(parent):
    """Unpack ensurepip's pip wheel once under ``parent`` (pip imports much faster from a folder); print it."""
    import zipfile

    wheel = bundled_pip_wheel()
    if not wheel:
        fail("pip is not installed for this Python and ensurepip has no bundled pip wheel", 1)
    folder = Path(parent) / ("bundled-" + Path(wheel).name.removesuffix(".whl"))  # not pip-*: cleaned as leftovers
    if not (folder / "pip" / "__main__.py").is_file():
        unpacking = Path(parent) / f".{folder.name}.{os.getpid()}"
        shutil.rmtree(unpacking, ignore_errors=True)
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(unpacking)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(unpacking, folder)
    print(folder)


def cmd_flash_record(target, filename):
    path = Path(target) / FLASH_RECORD
    path.write_text(filename + "\n")


COMMANDS = {
    "plan": cmd_plan, "remove": cmd_remove, "patterns": cmd_patterns, "cover": cmd_cover,
    "merge": cmd_merge, "stamp": cmd_stamp, "bundled-pip": cmd_bundled_pip, "flash-record": cmd_flash_record,
}
COMMANDS[sys.argv[1]](*sys.argv[2:])
PY
}

resolve_pip() {
  ((${#PIP[@]})) && return 0
  if env -u PYTHONPATH "$PYTHON" -m pip --version >/dev/null 2>&1; then
    PIP=("$PYTHON" -m pip)
  else
    local folder
    folder=$(helper bundled-pip "$ROOT/tmp") || die 1 "no pip for $PYTHON: install it (python -m ensurepip) or bake it into the image"
    log "pip: not installed for $PYTHON; running the pip bundled with its ensurepip, unpacked in $folder"
    PIP=("$PYTHON" "$folder/pip")
  fi
}

# pip with everything temporary on the root; variables that would send files elsewhere are dropped.
# Its output joins the log on stderr.
run_pip() {
  env -u PYTHONPATH -u PIP_NO_CACHE_DIR -u PIP_TARGET -u PIP_USER -u PIP_REQUIRE_VIRTUALENV -u PIP_PREFIX \
    TMPDIR="$ROOT/tmp" "${PIP[@]}" --disable-pip-version-check --no-input "$@" >&2
}

s3sync() {
  env PYTHONPATH="$REPO" "$PYTHON" "$HERE/s3sync.py" "$@" >&2
}

load_environment() {
  if [[ -z "${WORKER_ROOT:-}" ]]; then
    local env_file
    env_file=$(bash "$HERE/setup-backblaze-storage.sh") || exit $?
    # shellcheck source=/dev/null
    source "$env_file"
  fi
  [[ -d "$WORKER_ROOT" ]] || die 2 "WORKER_ROOT $WORKER_ROOT is not a directory"
  ROOT=$(cd "$WORKER_ROOT" && pwd -P)
  TARGET="$ROOT/packages"
  WHEELS="$ROOT/wheels"
  STAMP="$TARGET/.install-stamp"
  mkdir -p "$TARGET" "$WHEELS" "$ROOT/tmp" "$ROOT/pip-cache"
  S3=0
  [[ -n "${AWS_S3_BUCKET:-}" && -n "${AWS_ACCESS_KEY_ID:-}" && -n "${AWS_SECRET_ACCESS_KEY:-}" ]] && S3=1
  return 0
}

check_settings() {
  local name
  for name in INSTALL_MIN_FREE_MB INSTALL_RETRIES INSTALL_TIMEOUT_S INSTALL_LOCK_TIMEOUT_S; do
    [[ "${!name}" =~ ^[0-9]+$ ]] || die 2 "$name must be a whole number"
  done
  ((INSTALL_RETRIES >= 1)) || die 2 "INSTALL_RETRIES must be at least 1"
  [[ "$INSTALL_BACKOFF_S" =~ ^[0-9]+([.][0-9]+)?$ ]] || die 2 "INSTALL_BACKOFF_S must be a number of seconds"
  if [[ -z "${PYTHON:-}" ]]; then
    PYTHON=$(command -v python || command -v python3) || die 2 "no python on PATH; set PYTHON"
  fi
  command -v "$PYTHON" >/dev/null || die 2 "PYTHON $PYTHON is not an executable"
  [[ -f "$REQUIREMENTS_FILE" ]] || die 2 "REQUIREMENTS_FILE $REQUIREMENTS_FILE does not exist"
}

acquire_lock() {
  local lock="$ROOT/install.lock" t0
  exec 9>>"$lock"
  if flock -n 9; then return 0; fi
  t0=$(now_us)
  log "waiting for the install lock $lock (another process is installing on this root)"
  flock -w "$INSTALL_LOCK_TIMEOUT_S" 9 || die 1 "gave up waiting ${INSTALL_LOCK_TIMEOUT_S}s for $lock"
  log "install lock acquired after $(since "$t0")"
}

# Leftovers of an interrupted run (we hold the lock, so no other installer is using them).
clean_leftovers() {
  rm -rf "$ROOT/tmp/"stage-* "$ROOT/tmp/"pip-* 2>/dev/null || true
}

# Sets PLAN_* from `helper plan` (key=value lines).
plan() {
  local out key value flash_url=""
  if [[ "$CUDA" == 1 && -n "${FLASH_ATTN_WHEEL_URL:-}" ]]; then flash_url=$FLASH_ATTN_WHEEL_URL; fi
  out=$(helper plan "$REQUIREMENTS_FILE" "$TARGET" "$STAMP" "$SHA" "$ROOT/tmp/need.txt" "$ROOT/tmp/remove.txt" "$flash_url")
  PLAN_stamp="" PLAN_total=0 PLAN_need=0 PLAN_remove=0 PLAN_deep=0
  PLAN_flash="" PLAN_flash_reason="" PLAN_flash_wheel="" PLAN_flash_stale="" PLAN_flash_pinned=""
  while IFS='=' read -r key value; do
    case "$key" in
      stamp | total | need | remove | deep | flash | flash_reason | flash_wheel | flash_stale | flash_pinned)
        printf -v "PLAN_$key" '%s' "$value" ;;
    esac
  done <<<"$out"
}

restore_wheels() {
  step_begin "restore wheels"
  need_space "restoring wheels"
  helper patterns "$ROOT/tmp/need.txt" >"$ROOT/tmp/patterns.txt"
  if s3sync pull "$WHEELS_PREFIX" "$WHEELS" --include-from "$ROOT/tmp/patterns.txt"; then
    step_end
  else
    log "warning: restoring wheels from the bucket failed; missing wheels come from the package index"
    step_end "with errors"
  fi
}

download_wheels() {
  local count=$1 stage
  step_begin "download wheels"
  need_space "downloading $count wheel(s)"
  resolve_pip
  new_stage
  stage=$STAGE
  retry "download wheels" run_pip wheel --no-deps --progress-bar off --timeout "$INSTALL_TIMEOUT_S" \
    --cache-dir "$ROOT/pip-cache" --find-links "$WHEELS" --wheel-dir "$stage" -r "$ROOT/tmp/uncovered.txt"
  local moved=0 file
  for file in "$stage"/*.whl; do
    [[ -e "$file" ]] || continue
    mv -f "$file" "$WHEELS/"
    moved=$((moved + 1))
  done
  # the wheelhouse now holds them: pip's HTTP cache (kept on the root so retries resume) would be a second copy
  rm -rf "${ROOT:?}/pip-cache/"http*
  step_end "$moved wheel(s) added to $WHEELS"
}

upload_wheels() {
  step_begin "upload wheels"
  if s3sync push "$WHEELS" "$WHEELS_PREFIX"; then
    step_end
  else
    log "warning: uploading wheels to the bucket failed; the next fresh worker downloads them again"
    step_end "with errors"
  fi
}

install_wheels() {
  local stage
  step_begin "install"
  need_space "installing $PLAN_need package(s)"
  resolve_pip
  new_stage
  stage=$STAGE
  run_pip install --no-deps --no-index --find-links "$WHEELS" --no-cache-dir --progress-bar off \
    --target "$stage" -r "$ROOT/tmp/need.txt"
  helper merge "$stage" "$TARGET" >&2
  step_end "$PLAN_need package(s) into $TARGET"
}

cuda_state() {
  if [[ "${FORCE_CUDA:-}" == 1 ]]; then
    CUDA=1 CUDA_WHY="FORCE_CUDA=1"
  elif command -v nvidia-smi >/dev/null; then
    CUDA=1 CUDA_WHY="nvidia-smi found"
  else
    CUDA=0 CUDA_WHY="no CUDA: nvidia-smi not found and FORCE_CUDA is not 1"
  fi
}

# flash-attn is optional: every problem here is logged and the start goes on without it.
flash_attn() {
  local wheel stage
  if [[ -n "$PLAN_flash_pinned" ]]; then
    log "flash-attn: pinned in $REQUIREMENTS_FILE, installed with the rest; FLASH_ATTN_WHEEL_URL is not used"
    return 0
  fi
  if [[ -n "$PLAN_flash_stale" ]]; then
    log "flash-attn: removing the installed wheel, it no longer fits: $PLAN_flash_stale"
    printf 'flash-attn\n' >"$ROOT/tmp/remove.txt"
    helper remove "$TARGET" "$ROOT/tmp/remove.txt" >&2 || log "warning: flash-attn: removal failed"
  fi
  if [[ "$CUDA" != 1 ]]; then
    log "flash-attn: skipped ($CUDA_WHY)"
    return 0
  fi
  if [[ -z "${FLASH_ATTN_WHEEL_URL:-}" ]]; then
    log "flash-attn: skipped (FLASH_ATTN_WHEEL_URL is not set; flash-attn is never compiled at start-up)"
    return 0
  fi
  case "$PLAN_flash" in
    installed)
      log "flash-attn: $PLAN_flash_wheel already installed"
      return 0 ;;
    mismatch)
      log "flash-attn: skipped $PLAN_flash_wheel: $PLAN_flash_reason"
      return 0 ;;
    install) ;;
    *)
      log "warning: flash-attn: no verdict on $FLASH_ATTN_WHEEL_URL; skipped"
      return 0 ;;
  esac
  step_begin "flash-attn"
  wheel="$WHEELS/$PLAN_flash_wheel"
  if [[ ! -f "$wheel" && "$S3" == 1 ]]; then
    s3sync pull "$WHEELS_PREFIX" "$WHEELS" --include "$PLAN_flash_wheel" || log "warning: flash-attn: restore from the bucket failed"
  fi
  if [[ ! -f "$wheel" ]]; then
    if ! (need_space "downloading flash-attn"); then
      log "warning: flash-attn: not installed (disk)"; step_end "skipped"; return 0
    fi
    resolve_pip
    new_stage
    stage=$STAGE
    if ! retry "flash-attn download" run_pip download --no-deps --progress-bar off --timeout "$INSTALL_TIMEOUT_S" \
      --no-cache-dir --dest "$stage" "$FLASH_ATTN_WHEEL_URL"; then
      log "warning: flash-attn: download failed; the worker starts without it"
      step_end "not installed"
      return 0
    fi
    mv -f "$stage"/*.whl "$WHEELS/" 2>/dev/null || true
    if [[ ! -f "$wheel" ]]; then
      log "warning: flash-attn: the download did not produce $PLAN_flash_wheel; the worker starts without it"
      step_end "not installed"
      return 0
    fi
    if [[ "$S3" == 1 ]]; then
      s3sync push "$WHEELS" "$WHEELS_PREFIX" || log "warning: flash-attn: upload to the bucket failed"
    fi
  fi
  if ! (need_space "installing flash-attn"); then
    log "warning: flash-attn: not installed (disk)"; step_end "skipped"; return 0
  fi
  resolve_pip
  printf 'flash-attn\n' >"$ROOT/tmp/remove.txt"
  new_stage
  stage=$STAGE
  if helper remove "$TARGET" "$ROOT/tmp/remove.txt" >&2 &&
    run_pip install --no-deps --no-index --no-cache-dir --progress-bar off --target "$stage" "$wheel" &&
    helper merge "$stage" "$TARGET" >&2 &&
    helper flash-record "$TARGET" "$PLAN_flash_wheel"; then
    step_end "$PLAN_flash_wheel installed"
  else
    log "warning: flash-attn: installing $PLAN_flash_wheel failed; the worker starts without it"
    step_end "not installed"
  fi
}

main() {
  case "${1:-}" in
    -h | --help) usage; exit 0 ;;
    "") ;;
    *) usage >&2; die 2 "unknown argument: $1" ;;
  esac
  local started
  started=$(now_us)
  REQUIREMENTS_FILE="${REQUIREMENTS_FILE:-$REPO/requirements.txt}"
  INSTALL_MIN_FREE_MB="${INSTALL_MIN_FREE_MB:-12000}"
  INSTALL_RETRIES="${INSTALL_RETRIES:-3}"
  INSTALL_BACKOFF_S="${INSTALL_BACKOFF_S:-5}"
  INSTALL_TIMEOUT_S="${INSTALL_TIMEOUT_S:-120}"
  INSTALL_LOCK_TIMEOUT_S="${INSTALL_LOCK_TIMEOUT_S:-1800}"
  WHEELS_PREFIX="${WHEELS_PREFIX:-wheels/}"
  check_settings
  load_environment
  cuda_state
  SHA=$(sha256sum "$REQUIREMENTS_FILE" | cut -d' ' -f1)
  log "root $ROOT, python $PYTHON, requirements $REQUIREMENTS_FILE (sha256 ${SHA:0:12}), S3 wheel cache: $([[ $S3 == 1 ]] && echo on || echo off)"
  acquire_lock

  step_begin "check"
  plan
  step_end "$PLAN_total pinned, $PLAN_need to install, $PLAN_remove to remove, stamp $PLAN_stamp"
  if [[ "$PLAN_stamp" == ok && "$PLAN_need" == 0 && "$PLAN_remove" == 0 ]]; then
    log "nothing to do: all $PLAN_total packages at their pinned versions in $TARGET"
  else
    if [[ "$PLAN_deep" == 1 ]]; then
      log "no valid stamp ($PLAN_stamp): the size of every installed file was checked"
    fi
    rm -f "$STAMP"  # from here until the verified end an interruption leaves no stamp
    clean_leftovers
    if ((PLAN_remove > 0)); then
      step_begin "remove"
      helper remove "$TARGET" "$ROOT/tmp/remove.txt" >&2
      step_end
    fi
    if ((PLAN_need > 0)); then
      if [[ "$S3" == 1 ]]; then restore_wheels; fi
      local uncovered
      uncovered=$(helper cover "$WHEELS" "$ROOT/tmp/need.txt" "$ROOT/tmp/uncovered.txt")
      if ((uncovered > 0)); then
        log "wheelhouse: $uncovered of $PLAN_need wheel(s) missing; fetching them from the package index"
        download_wheels "$uncovered"
        if [[ "$S3" == 1 ]]; then upload_wheels; fi
      else
        log "wheelhouse: covers all $PLAN_need package(s); installing with --no-index"
      fi
      install_wheels
    fi
    step_begin "verify"
    plan
    if [[ "$PLAN_need" != 0 || "$PLAN_remove" != 0 ]]; then
      die 1 "after installing, $PLAN_need package(s) are still missing or incomplete and $PLAN_remove unexpected; see the lines above"
    fi
    helper stamp "$STAMP" "$SHA"
    step_end "all $PLAN_total packages at their pinned versions; stamp written"
  fi
  flash_attn
  log "finished in $(since "$started")"
}

main "$@"

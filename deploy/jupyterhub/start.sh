#!/usr/bin/env bash
# The class server on this machine, in one command, as root:
#
#   sudo bash deploy/jupyterhub/start.sh
#
# Installs what is missing, then runs JupyterHub in the foreground (Ctrl+C stops it and every
# learner's server): a read-only copy of this checkout in $COURSE_PREFIX/course, one virtual
# environment for everyone in $COURSE_PREFIX/venv (the course and JupyterHub from PyPI),
# configurable-http-proxy from npm, and the learners' and instructors' groups. Run it again
# after a `git pull` to update the class's copy (stop the hub first).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CHECKOUT=$(cd "$HERE/../.." && pwd)
PREFIX=${COURSE_PREFIX:-/opt/designing-scalable-ai}
export COURSE_VENV=${COURSE_VENV:-$PREFIX/venv}
export COURSE_HUB_STATE=${COURSE_HUB_STATE:-/srv/designing-scalable-ai}
export COURSE_CLASS_DIR=${COURSE_CLASS_DIR:-$COURSE_HUB_STATE/class}
export COURSE_LEARNER_GROUP=${COURSE_LEARNER_GROUP:-course-learners}
export COURSE_INSTRUCTOR_GROUP=${COURSE_INSTRUCTOR_GROUP:-course-instructors}

if [ "$(id -u)" != 0 ]; then
    echo "The hub starts each learner's server as that learner: run it as root (sudo bash $0)." >&2
    exit 1
fi
if ! command -v npm >/dev/null; then
    echo "The hub's proxy comes from npm: install Node.js first (Debian/Ubuntu: apt-get install nodejs npm)." >&2
    exit 1
fi
umask 022  # everything installed here: readable by the learners, writable by root alone

# 1. The course as git has it (plus files not yet committed, never ignored ones such as .venv),
#    copied beside the old copy and swapped in, so a failed copy leaves the class's course whole.
echo "Copying the course from $CHECKOUT to $PREFIX/course"
mkdir -p "$PREFIX"
rm -rf "$PREFIX/course.new"
mkdir "$PREFIX/course.new"
git -C "$CHECKOUT" ls-files -z --cached --others --exclude-standard \
    | (cd "$CHECKOUT" && tar --null --files-from=- -cf - 2>/dev/null) | tar -xf - -C "$PREFIX/course.new"
rm -rf "$PREFIX/course.old"
[ ! -d "$PREFIX/course" ] || mv "$PREFIX/course" "$PREFIX/course.old"
mv "$PREFIX/course.new" "$PREFIX/course"
rm -rf "$PREFIX/course.old"

# 2. One environment for the class: the course (requirements.sh proves torch works), then the
#    hub's packages (pyproject.toml's `hub` extra). pip skips what is already installed. The
#    system's Python by default: one under root's home (pyenv) cannot be run by the learners.
[ -n "${PYTHON:-}" ] || { [ -x /usr/bin/python3 ] && export PYTHON=/usr/bin/python3; } || true
COURSE_VENV="$COURSE_VENV" bash "$PREFIX/course/requirements.sh"
"$COURSE_VENV/bin/python" -m pip install --quiet -e "$PREFIX/course[hub]"
if ! runuser -u nobody -- "$COURSE_VENV/bin/python" -c "import course, jupyterhub.singleuser" 2>/dev/null; then
    echo "The learners cannot run $COURSE_VENV/bin/python (is its Python under a private folder, such as" >&2
    echo "root's pyenv?). Remove $COURSE_VENV and run this again with PYTHON=/usr/bin/python3." >&2
    exit 1
fi

# 3. The proxy, at the version package-lock.json pins, into deploy/jupyterhub/node_modules.
(cd "$PREFIX/course/deploy/jupyterhub" && npm ci --no-audit --no-fund --loglevel=error)

# 4. Who may log in: the learners' group, and the instructors' group (hub admins, and readers
#    of the class folder). `useradd -m -G course-learners NAME` adds a learner (README).
getent group "$COURSE_LEARNER_GROUP" >/dev/null || groupadd "$COURSE_LEARNER_GROUP"
getent group "$COURSE_INSTRUCTOR_GROUP" >/dev/null || groupadd "$COURSE_INSTRUCTOR_GROUP"
chmod -R a+rX,go-w "$PREFIX"

echo "Starting JupyterHub on ${COURSE_HUB_URL:-http://127.0.0.1:8000} (class folder $COURSE_CLASS_DIR)"
mkdir -p -m 700 "$COURSE_HUB_STATE"
cd "$COURSE_HUB_STATE"
exec "$COURSE_VENV/bin/jupyterhub" -f "$PREFIX/course/deploy/jupyterhub/jupyterhub_config.py"

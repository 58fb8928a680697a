# Sourced by the scripts: need NAME COMMAND PACKAGE WHY makes sure COMMAND is on the PATH. As
# root, a missing one is installed from Debian's packages (apt-get install -y PACKAGE); otherwise
# the script stops and says the one command that installs it. It never skips.
need() {
	local name=$1 cmd=$2 package=$3 why=$4
	command -v "$cmd" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "$name: $why: installing $package (apt-get install -y $package)" >&2
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
		return 0
	fi
	echo "$name: $why, and $cmd is not installed: run 'sudo apt-get install -y $package' (Debian) and try again" >&2
	exit 1
}

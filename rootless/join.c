// The way into an account's namespace, taken before the Go runtime starts
// threads (see join.go). Its rule for where the holder's PID is kept is
// RuntimeDir's in rootless.go; TestRootless checks that a command joins
// the holder here, without starting builder twice.
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// Exec names the holder to join in it; joinEnv in join.go.
#define JOIN_ENV "_BUILDER_NAMESPACE"

static int builder_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len);
	close(fd);
	return (int)n;
}

// names_root reports whether the command line has --root (or cannot be
// read whole).
static int names_root(void)
{
	static char args[65536];
	int n = builder_read("/proc/self/cmdline", args, sizeof(args));
	if (n <= 0 || n == (int)sizeof(args))
		return 1;
	for (int i = 0; i < n; i += strlen(args + i) + 1) {
		if (strcmp(args + i, "--root") == 0 || strncmp(args + i, "--root=", 7) == 0)
			return 1;
	}
	return 0;
}

// joins the user and mount namespaces of holder pid, after checking that
// it is the account's holder and not a process that took its PID since.
// It returns 0 when joined and -1, with nothing changed, when not.
static int join(long pid, uid_t uid)
{
	char path[64], buf[2048];
	static char cwd[PATH_MAX];
	struct stat st, before, after;
	int n, userfd, mntfd;

	snprintf(path, sizeof(path), "/proc/%ld", pid);
	if (stat(path, &st) != 0 || st.st_uid != uid)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	n = builder_read(path, buf, sizeof(buf));
	if (n <= 0 || memmem(buf, n, "__rootless-namespace", 20) == NULL)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/ns/user", pid);
	// Joining a mount namespace moves the working directory to its root
	// (setns(2)): relative paths would all be resolved against /. The
	// directory is kept by its path, and must be the same one there.
	if (getcwd(cwd, sizeof(cwd)) == NULL || stat(".", &before) != 0)
		cwd[0] = '\0';
	userfd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%ld/ns/mnt", pid);
	mntfd = open(path, O_RDONLY | O_CLOEXEC);
	if (userfd < 0 || mntfd < 0 || setns(userfd, CLONE_NEWUSER) != 0) {
		if (userfd >= 0)
			close(userfd);
		if (mntfd >= 0)
			close(mntfd);
		return -1;
	}
	// In the user namespace there is no way back: a mount namespace that
	// cannot be joined is an error.
	if (setns(mntfd, CLONE_NEWNS) != 0) {
		fprintf(stderr, "Error: join the mount namespace of builder's namespace holder (pid %ld): %m\n", pid);
		_exit(125);
	}
	close(userfd);
	close(mntfd);
	if (cwd[0] == '\0')
		return 0; // none to keep (removed, or too long): / as before
	if (chdir(cwd) != 0 || stat(".", &after) != 0 || after.st_dev != before.st_dev || after.st_ino != before.st_ino) {
		fprintf(stderr, "Error: the working directory %s is not the same directory in builder's user namespace (a mount there covers it): run builder from another directory\n", cwd);
		_exit(125);
	}
	return 0;
}

void builder_join_namespace(void)
{
	uid_t uid = geteuid();
	char dir[2048], path[2200], buf[64];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *named = getenv(JOIN_ENV);
	char *end;
	long pid;
	int n;

	// Root needs no namespace; a process unshare starts (a new holder)
	// must not join the old one.
	if (uid == 0 || getenv("_Containers-unshare") != NULL)
		return;
	// Exec has checked the command (its root's owner too) and started or
	// found the holder, and runs builder again naming it: join it or fail.
	if (named != NULL) {
		pid = strtol(named, &end, 10);
		unsetenv(JOIN_ENV);
		if (pid <= 0 || *end != '\0' || join(pid, uid) != 0) {
			fprintf(stderr, "Error: join builder's namespace holder (pid %s): %m\n", named);
			_exit(125);
		}
		return;
	}
	// A root named on the command line is checked, before joining, by
	// the owner's name (CheckOwner), which the namespace cannot see.
	if (getenv("BUILDER_ROOT") != NULL || names_root())
		return;
	if (xdg != NULL && xdg[0] == '/')
		snprintf(dir, sizeof(dir), "%s/builder", xdg);
	else
		snprintf(dir, sizeof(dir), "/tmp/builder-run-%u/builder", (unsigned)uid);
	snprintf(path, sizeof(path), "%s/namespace.pid", dir);
	n = builder_read(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	if (pid > 0)
		join(pid, uid); // or the Go side makes a holder, or says what is missing
}

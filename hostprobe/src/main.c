/*
 * hostprobe: ask a host kernel's /dev/kvm what it offers (capture) and what it does with a restore
 * plan (replay). Output is JSON lines on stdout. The same static binary is /init in the oracle's
 * initramfs (hostprobe/oracle.ts), where it runs the jobs listed in /jobs and powers off.
 *
 *   hostprobe capture
 *   hostprobe replay <plan-file>      (format: hostprobe/PLAN.md)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "kvm.h"
#include "out.h"
#include "plan.h"

#define MAX_PLAN_BYTES (64u << 20)
#define JOB_TIMEOUT_S 300

int ioctl_check_system(long cap)
{
	int r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? -errno : r;
}

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(MAX_PLAN_BYTES + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	size_t n = fread(buf, 1, MAX_PLAN_BYTES + 1, f);
	fclose(f);
	if (n > MAX_PLAN_BYTES) {
		free(buf);
		snprintf(err, errlen, "%s: larger than %u bytes", path, MAX_PLAN_BYTES);
		return NULL;
	}
	if (memchr(buf, 0, n)) {
		free(buf);
		snprintf(err, errlen, "%s: contains a NUL byte (not a text plan)", path);
		return NULL;
	}
	buf[n] = 0;
	return buf;
}

static void header(const char *mode)
{
	FILE *f = fopen("/proc/sys/kernel/osrelease", "r");
	char rel[128] = "";
	if (f) {
		if (!fgets(rel, sizeof(rel), f))
			rel[0] = 0;
		fclose(f);
		rel[strcspn(rel, "\n")] = 0;
	}
	j_begin("header");
	j_str("tool", "hostprobe");
	j_int("format", 1);
	j_str("mode", mode);
	j_str("release", rel);
	j_end();
}

static int replay(const char *path)
{
	char err[300];
	char *text = read_file(path, err, sizeof(err));
	if (!text) {
		fprintf(stderr, "hostprobe replay: %s\n", err);
		return 2;
	}
	struct plan p;
	if (plan_parse(text, &p, err, sizeof(err))) {
		fprintf(stderr, "hostprobe replay: %s: %s\n", path, err);
		return 2;
	}
	int e = kvm_open();
	if (e) {
		fprintf(stderr, "hostprobe replay: /dev/kvm: %s\n", strerror(e));
		return 1;
	}
	header("replay");
	plan_replay(&p);
	return 0;
}

/* pid 1 in the oracle's initramfs: run /jobs, frame each job's output, power off. */
static void say(const char *fmt, const char *a, long b)
{
	printf(fmt, a, b);
	fflush(stdout);
}

static int init_main(void)
{
	mkdir("/dev", 0755);
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	int con = open("/dev/console", O_RDWR);
	if (con >= 0) {
		dup2(con, 0);
		dup2(con, 1);
		dup2(con, 2);
		if (con > 2)
			close(con);
	}
	char err[300];
	char *jobs = read_file("/jobs", err, sizeof(err));
	say("@@rollsafe init %s %ld\n", jobs ? "jobs" : err, 0);
	int n = 0;
	for (char *line = jobs ? strtok(jobs, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		/* "capture" or "replay <plan-path>": the first word, then the rest */
		char job[512];
		snprintf(job, sizeof(job), "%s", line);
		char *argv[4] = { "hostprobe", job, NULL, NULL };
		char *sp = strchr(job, ' ');
		if (sp) {
			*sp = 0;
			argv[2] = sp + 1;
		}
		say("@@rollsafe begin %s %ld\n", line, n);
		pid_t pid = fork();
		if (pid == 0) {
			execv("/init", argv);
			_exit(127);
		}
		int status = -1;
		struct timespec tick = { 0, 10 * 1000 * 1000 };
		long waited = 0;
		while (pid > 0) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				break;
			if (waited++ > JOB_TIMEOUT_S * 100L) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				status = -2;
				break;
			}
			nanosleep(&tick, NULL);
		}
		long code = status == -2 ? -2 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		say("@@rollsafe end %s %ld\n", status == -2 ? "timeout" : "exit", code);
		n++;
	}
	say("@@rollsafe poweroff %s %ld\n", "jobs", n);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}

int main(int argc, char **argv)
{
	if (getpid() == 1)
		return init_main();
	if (argc == 2 && strcmp(argv[1], "capture") == 0) {
		int e = kvm_open();
		if (e) {
			fprintf(stderr, "hostprobe capture: /dev/kvm: %s\n", strerror(e));
			return 1;
		}
		return capture();
	}
	if (argc == 3 && strcmp(argv[1], "replay") == 0)
		return replay(argv[2]);
	fprintf(stderr, "usage: hostprobe capture | hostprobe replay <plan-file>\n"
			"  JSON lines on stdout; plan format: hostprobe/PLAN.md\n");
	return 2;
}

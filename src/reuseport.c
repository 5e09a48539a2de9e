/*
 * reuseport.c - SO_REUSEPORT on listeners and transfer sockets, for
 * single-port mode (reuseport.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reuseport.h"

int reuseport_enable(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ? -errno : 0;
}

int reuseport_enabled(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &len) < 0)
		return -errno;
	return on != 0;
}

/*
 * An inherited socket is not ours to change: it was bound by its owner
 * (systemd, inetd), and the kernel lets transfer sockets share its port
 * only when it had SO_REUSEPORT at bind time and the same user made it.
 * The fix belongs where the socket is made.
 */
int reuseport_check_inherited(int fd, bool from_inetd, char *why, size_t size)
{
	int r = reuseport_enabled(fd);
	struct stat st;

	if (r == 1 && fstat(fd, &st) == 0 && st.st_uid != geteuid()) {
		snprintf(why, size,
			 "--single-port: the listening socket (fd %d) belongs to uid %u and snow-owld "
			 "runs as uid %u; the kernel shares a port only among one user's sockets: run "
			 "snow-owld as uid %u (with systemd: snow-owl.service.d/single-port.conf)",
			 fd, (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)st.st_uid);
		return -EPERM;
	}
	if (r == 1)
		return 0;
	if (r < 0)
		snprintf(why, size, "--single-port: cannot read SO_REUSEPORT of fd %d: %s", fd,
			 strerror(-r));
	else if (from_inetd)
		snprintf(why, size,
			 "--single-port needs SO_REUSEPORT on the listening socket, and inetd's "
			 "socket (fd 0) does not have it: run snow-owld standalone (-l) or from "
			 "snow-owl.socket with ReusePort=yes");
	else
		snprintf(why, size,
			 "--single-port needs SO_REUSEPORT on the listening socket, and systemd's "
			 "fd %d does not have it: add ReusePort=yes to its socket unit (install "
			 "the drop-in snow-owl.socket.d/single-port.conf), then restart the socket",
			 fd);
	return -EINVAL;
}

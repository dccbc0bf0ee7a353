// SPDX-License-Identifier: MIT
/*
 * The VM's network, shared by every distro: loopback, and when the command
 * line gives wsl.address= (and wsl.gateway=), the first Ethernet interface
 * with that address and a default route.  With wslvm's --net the host's
 * user-mode NAT hands out fixed addresses, so no DHCP client is needed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "init.h"

#define NETWORK_INTERFACE "eth0"

static void set_inet(struct sockaddr *sa, struct in_addr addr)
{
	struct sockaddr_in *in = (struct sockaddr_in *)sa;

	memset(in, 0, sizeof(*in));
	in->sin_family = AF_INET;
	in->sin_addr = addr;
}

static int interface_flags_up(int s, const char *name)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

/* "A.B.C.D/N" into an address and a netmask. */
static int parse_cidr(const char *text, struct in_addr *addr, struct in_addr *mask)
{
	char buf[64], *slash, *end;
	long bits;

	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	bits = strtol(slash + 1, &end, 10);
	if (*end || bits < 0 || bits > 32 || inet_pton(AF_INET, buf, addr) != 1)
		return -1;
	mask->s_addr = bits ? htonl(~0u << (32 - bits)) : 0;
	return 0;
}

static void interface_configure(int s, const char *name, const char *cidr, const char *gateway)
{
	struct in_addr addr, mask, gw;
	struct ifreq ifr = { 0 };
	struct rtentry route = { 0 };

	if (parse_cidr(cidr, &addr, &mask)) {
		pr_init("wsl.address=%s: not an IPv4 address with a prefix length", cidr);
		return;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	set_inet(&ifr.ifr_addr, addr);
	if (ioctl(s, SIOCSIFADDR, &ifr)) {
		pr_init("%s: setting address %s: %s", name, cidr, strerror(errno));
		return;
	}
	set_inet(&ifr.ifr_netmask, mask);
	if (ioctl(s, SIOCSIFNETMASK, &ifr))
		pr_init("%s: setting the netmask of %s: %s", name, cidr, strerror(errno));
	if (interface_flags_up(s, name))
		pr_init("%s up: %s", name, strerror(errno));
	if (!*gateway)
		return;
	if (inet_pton(AF_INET, gateway, &gw) != 1) {
		pr_init("wsl.gateway=%s: not an IPv4 address", gateway);
		return;
	}
	set_inet(&route.rt_dst, (struct in_addr){ 0 });
	set_inet(&route.rt_genmask, (struct in_addr){ 0 });
	set_inet(&route.rt_gateway, gw);
	route.rt_flags = RTF_UP | RTF_GATEWAY;
	route.rt_dev = (char *)name;
	if (ioctl(s, SIOCADDRT, &route) && errno != EEXIST)
		pr_init("%s: default route via %s: %s", name, gateway, strerror(errno));
}

void network_up(const struct boot_config *boot)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0) {
		pr_init("no network: %s", strerror(errno));
		return;
	}
	if (interface_flags_up(s, "lo"))
		pr_init("lo up: %s", strerror(errno));
	if (*boot->address) {
		if (if_nametoindex(NETWORK_INTERFACE))
			interface_configure(s, NETWORK_INTERFACE, boot->address, boot->gateway);
		else
			pr_init("wsl.address= given, but the VM has no %s", NETWORK_INTERFACE);
	}
	close(s);
}

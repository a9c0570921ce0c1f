#ifndef CLICKPATH_CLINUX_SHIM_H
#define CLICKPATH_CLINUX_SHIM_H
// Linux calls that Glibc does not export to Swift. Never #define _GNU_SOURCE here:
// it changes fd_set for every module sharing the system headers.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <malloc.h>

extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);

#endif

// SPDX-License-Identifier: MIT
/*
 * An 8250-family UART (a 16550A, as Linux will detect it) on COM1, the
 * guest's console.  Transmission is instant, so the transmitter is always
 * empty; received bytes wait in a small buffer that the event loop fills
 * from the input file descriptor.
 *
 * The interrupt line follows IIR: raised while any enabled cause is
 * pending, lowered when none is, which gives the edge-triggered I/O APIC
 * an edge for every new cause once the guest has drained the last.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include "devices.h"
#include "layout.h"
#include "loop.h"
#include "vmm.h"

/* Register offsets from the base port (DLAB = 0 unless noted). */
#define UART_RX		0	/* in: receive buffer */
#define UART_TX		0	/* out: transmit holding */
#define UART_DLL	0	/* DLAB = 1: divisor latch low */
#define UART_IER	1
#define UART_DLM	1	/* DLAB = 1: divisor latch high */
#define UART_IIR	2	/* in */
#define UART_FCR	2	/* out */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define UART_IER_RDI	0x01	/* received data available */
#define UART_IER_THRI	0x02	/* transmitter holding register empty */
#define UART_IIR_NO_INT	0x01
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_FIFO	0xc0	/* FIFOs enabled, as a 16550A reports */
#define UART_FCR_ENABLE	0x01
#define UART_LCR_DLAB	0x80
#define UART_MCR_LOOP	0x10
#define UART_LSR_DR	0x01
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_MSR_DCD	0x80
#define UART_MSR_DSR	0x20
#define UART_MSR_CTS	0x10

#define SERIAL_RX_BUF	1024

struct serial {
	struct vm *vm;
	pthread_mutex_t lock;
	int in_fd, out_fd;
	struct loop_handler *input;
	bool input_paused;
	bool out_broken;

	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thr_int_pending;
	int irq_level;

	uint8_t rx[SERIAL_RX_BUF];
	unsigned int rx_head, rx_count;
};

static struct termios saved_termios;
static int saved_termios_fd = -1;

static void serial_restore_terminal(void)
{
	if (saved_termios_fd >= 0)
		tcsetattr(saved_termios_fd, TCSANOW, &saved_termios);
}

static void serial_raw_terminal(int fd)
{
	struct termios raw;

	if (!isatty(fd) || tcgetattr(fd, &saved_termios) < 0)
		return;
	saved_termios_fd = fd;
	atexit(serial_restore_terminal);
	raw = saved_termios;
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSANOW, &raw) < 0)
		pr_warn_errno("putting the terminal in raw mode");
}

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0;

	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return fifo | UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thr_int_pending)
		return fifo | UART_IIR_THRI;
	return fifo | UART_IIR_NO_INT;
}

/* Called with the lock held after every change. */
static void serial_update_irq(struct serial *s)
{
	int level = !(serial_iir(s) & UART_IIR_NO_INT);

	if (level != s->irq_level) {
		s->irq_level = level;
		vm_irq_line(s->vm, IRQ_COM1, level);
	}
}

static void serial_transmit(struct serial *s, uint8_t byte)
{
	if (s->mcr & UART_MCR_LOOP) {
		if (s->rx_count < SERIAL_RX_BUF)
			s->rx[(s->rx_head + s->rx_count++) % SERIAL_RX_BUF] = byte;
		return;
	}
	if (s->out_broken)
		return;
	while (write(s->out_fd, &byte, 1) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			break;	/* a non-blocking terminal that is full: drop */
		pr_warn_errno("writing the guest's console output");
		s->out_broken = true;
		break;
	}
}

static uint8_t serial_msr(const struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(s->mcr & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	/* Loopback: the modem outputs come back as inputs. */
	return ((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x04) << 4) | ((m & 0x08) << 4);
}

static void serial_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct serial *s = opaque;
	uint8_t v = 0;
	bool resume_input = false;

	pthread_mutex_lock(&s->lock);
	switch (offset) {
	case UART_RX:
		if (s->lcr & UART_LCR_DLAB) {
			v = s->dll;
		} else if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_RX_BUF;
			s->rx_count--;
			resume_input = s->input_paused;
		}
		break;
	case UART_IER:
		v = (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
		break;
	case UART_IIR:
		v = serial_iir(s);
		/* Reading IIR acknowledges a transmitter-empty interrupt. */
		if ((v & 0x0f) == UART_IIR_THRI)
			s->thr_int_pending = false;
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		v = UART_LSR_THRE | UART_LSR_TEMT | (s->rx_count ? UART_LSR_DR : 0);
		break;
	case UART_MSR:
		v = serial_msr(s);
		break;
	case UART_SCR:
		v = s->scr;
		break;
	}
	serial_update_irq(s);
	if (resume_input && s->input) {
		s->input_paused = false;
		loop_modify(s->vm->loop, s->input, EPOLLIN);
	}
	pthread_mutex_unlock(&s->lock);
	memset(data, 0, len);
	*(uint8_t *)data = v;
}

static void serial_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct serial *s = opaque;
	uint8_t v = *(const uint8_t *)data;

	pthread_mutex_lock(&s->lock);
	switch (offset) {
	case UART_TX:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = v;
		} else {
			serial_transmit(s, v);
			s->thr_int_pending = true;
		}
		break;
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = v;
		} else {
			/* Enabling THRI with the transmitter empty raises it at once. */
			if (!(s->ier & UART_IER_THRI) && (v & UART_IER_THRI))
				s->thr_int_pending = true;
			s->ier = v & 0x0f;
		}
		break;
	case UART_FCR:
		s->fcr = v;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static const struct bus_device_ops serial_ops = {
	.read = serial_read,
	.write = serial_write,
};

/* Event loop: input is readable. */
static void serial_input(void *opaque, uint32_t events)
{
	struct serial *s = opaque;
	uint8_t buf[SERIAL_RX_BUF];
	unsigned int room, i;
	ssize_t n;

	pthread_mutex_lock(&s->lock);
	room = SERIAL_RX_BUF - s->rx_count;
	if (!room) {
		/* The guest is not reading: stop watching until it does. */
		s->input_paused = true;
		loop_modify(s->vm->loop, s->input, 0);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	n = read(s->in_fd, buf, room);
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			pthread_mutex_unlock(&s->lock);
			return;
		}
		if (n < 0)
			pr_warn_errno("reading the console input");
		/* End of input: the guest simply gets no more. */
		loop_remove(s->vm->loop, s->input);
		s->input = NULL;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	for (i = 0; i < (unsigned int)n; i++)
		s->rx[(s->rx_head + s->rx_count++) % SERIAL_RX_BUF] = buf[i];
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

void serial_init(struct vm *vm, int in_fd, int out_fd)
{
	struct serial *s = xcalloc(1, sizeof(*s));

	s->vm = vm;
	pthread_mutex_init(&s->lock, NULL);
	s->in_fd = in_fd;
	s->out_fd = out_fd;
	s->thr_int_pending = false;
	bus_register(&vm->pio, PORT_COM1, 8, &serial_ops, s);
	if (in_fd >= 0) {
		serial_raw_terminal(in_fd);
		s->input = loop_add(vm->loop, in_fd, EPOLLIN, serial_input, s);
	}
	vm_cmdline_append(vm, "console=ttyS0");
}

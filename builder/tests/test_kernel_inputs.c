// SPDX-License-Identifier: MIT
/* mkwslimage kernel: input hashes, the cache key, and the manifest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../kernel.h"
#include "../mkwslimage.h"

/* Weak: used only while the builder's archive does not define it. */
const char *builder_prog __attribute__((weak)) = "mkwslimage kernel";

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "3333333333333333333333333333333333333333333333333333333333333333"

static void test_sha256_vectors(void **state)
{
	char hex[SHA256_HEX];

	sha256_buf("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_buf("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_sha256_file(void **state)
{
	char path[] = "/tmp/test_kernel_sha.XXXXXX", hex[SHA256_HEX];
	uint64_t size = 0;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	assert_int_equal(sha256_file(path, hex, &size), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(size, 3);
	unlink(path);
	assert_int_equal(sha256_file(path, hex, &size), -1);
}

/* The inputs of a typical build, with one thing changed by "variant". */
static void make_inputs(struct kernel_inputs *ki, int variant)
{
	kernel_inputs_init(ki, variant == 1 ? "4.19" : "6.1");
	assert_int_equal(kernel_inputs_add(ki, "source", "linux.tar.xz",
					   variant == 6 ? "/elsewhere/linux.tar.xz" : "/usr/src/linux.tar.xz",
					   variant == 2 ? H3 : H1), 0);
	assert_int_equal(kernel_inputs_add(ki, "patch", "0001-x.patch", "p/0001-x.patch",
					   variant == 3 ? H3 : H2), 0);
	if (variant == 4) {
		/* the same fragments, in the other order */
		assert_int_equal(kernel_inputs_add(ki, "fragment", "size.config", "s", H2), 0);
		assert_int_equal(kernel_inputs_add(ki, "fragment", "base.config", "b", H1), 0);
	} else {
		assert_int_equal(kernel_inputs_add(ki, "fragment", "base.config", "b", H1), 0);
		assert_int_equal(kernel_inputs_add(ki, "fragment", "size.config", "s", H2), 0);
	}
	ki->compiler = strdup(variant == 5 ? "gcc (Debian 13.1.0) 13.1.0" : "gcc (Debian 12.2.0) 12.2.0");
	ki->linker = strdup("GNU ld (GNU Binutils for Debian) 2.40");
	if (variant == 7)
		ki->epoch = strdup("1700000000");
}

static void test_key_follows_inputs(void **state)
{
	char base[SHA256_HEX], key[SHA256_HEX];
	struct kernel_inputs ki;
	int v;

	make_inputs(&ki, 0);
	kernel_inputs_key(&ki, base);
	kernel_inputs_free(&ki);

	/* Every input counts: line, source, patch, fragment order, compiler, epoch. */
	for (v = 1; v <= 7; v++) {
		if (v == 6)
			continue;
		make_inputs(&ki, v);
		kernel_inputs_key(&ki, key);
		kernel_inputs_free(&ki);
		assert_string_not_equal(key, base);
	}
	/* Where the inputs sit does not. */
	make_inputs(&ki, 6);
	kernel_inputs_key(&ki, key);
	kernel_inputs_free(&ki);
	assert_string_equal(key, base);
	/* And the key is stable: the same inputs, the same key. */
	make_inputs(&ki, 0);
	kernel_inputs_key(&ki, key);
	kernel_inputs_free(&ki);
	assert_string_equal(key, base);
}

static void test_inputs_text(void **state)
{
	struct kernel_inputs ki;
	char *text;

	make_inputs(&ki, 0);
	text = kernel_inputs_text(&ki);
	assert_string_equal(text, "recipe 1\n"
				  "line 6.1\n"
				  "input source " H1 " linux.tar.xz\n"
				  "input patch " H2 " 0001-x.patch\n"
				  "input fragment " H1 " base.config\n"
				  "input fragment " H2 " size.config\n"
				  "compiler gcc (Debian 12.2.0) 12.2.0\n"
				  "linker GNU ld (GNU Binutils for Debian) 2.40\n"
				  "source-date-epoch from-source\n");
	free(text);
	kernel_inputs_free(&ki);
}

static void test_manifest_roundtrip(void **state)
{
	struct kernel_output out[KERNEL_OUTPUTS] = {
		{ "bzImage", H1, 9000000 }, { "vmlinux", H2, 30000000 }, { ".config", H3, 90000 },
	};
	struct kernel_output back[KERNEL_OUTPUTS];
	struct kernel_inputs ki;
	char *text = NULL, key[SHA256_HEX], line[128];
	size_t len = 0;
	FILE *f;
	int i;

	make_inputs(&ki, 0);
	f = open_memstream(&text, &len);
	assert_int_equal(kernel_manifest_write(f, &ki, 1700000000, "6.1.192", out, KERNEL_OUTPUTS), 0);
	fclose(f);
	kernel_inputs_key(&ki, key);
	snprintf(line, sizeof(line), "cache-key %s\n", key);
	assert_non_null(strstr(text, line));
	assert_non_null(strstr(text, "input patch " H2 " 0001-x.patch\n"));
	assert_non_null(strstr(text, "compiler gcc (Debian 12.2.0) 12.2.0\n"));
	assert_non_null(strstr(text, "epoch 1700000000\n"));
	assert_non_null(strstr(text, "release 6.1.192\n"));
	assert_non_null(strstr(text, "output " H1 " 9000000 bzImage\n"));

	for (i = 0; i < KERNEL_OUTPUTS; i++)
		back[i].name = kernel_output_names[i];
	f = fmemopen(text, len, "r");
	assert_int_equal(kernel_manifest_outputs(f, back, KERNEL_OUTPUTS), 0);
	fclose(f);
	for (i = 0; i < KERNEL_OUTPUTS; i++) {
		assert_string_equal(back[i].sha256, out[i].sha256);
		assert_int_equal(back[i].size, out[i].size);
	}
	free(text);
	kernel_inputs_free(&ki);
}

static int read_outputs(const char *text)
{
	struct kernel_output back[KERNEL_OUTPUTS];
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int i, ret;

	for (i = 0; i < KERNEL_OUTPUTS; i++)
		back[i].name = kernel_output_names[i];
	ret = kernel_manifest_outputs(f, back, KERNEL_OUTPUTS);
	fclose(f);
	return ret;
}

static void test_manifest_malformed(void **state)
{
	/* one output missing */
	assert_int_equal(read_outputs("output " H1 " 1 bzImage\noutput " H2 " 2 vmlinux\n"), -1);
	/* a short hash */
	assert_int_equal(read_outputs("output 1234 1 bzImage\noutput " H2 " 2 vmlinux\n"
				      "output " H3 " 3 .config\n"), -1);
	/* the same output twice */
	assert_int_equal(read_outputs("output " H1 " 1 bzImage\noutput " H2 " 2 bzImage\n"
				      "output " H2 " 2 vmlinux\noutput " H3 " 3 .config\n"), -1);
	/* all there */
	assert_int_equal(read_outputs("# comment\noutput " H1 " 1 bzImage\noutput " H2 " 2 vmlinux\n"
				      "output " H3 " 3 .config\n"), 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_tree_hash(void **state)
{
	char dir[] = "/tmp/test_kernel_tree.XXXXXX", path[256], cmd[300];
	char h1[SHA256_HEX], h2[SHA256_HEX];
	struct timeval tv[2] = { { 1600000000, 0 }, { 1600000000, 0 } };
	time_t newest;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/sub/a", dir);
	write_file(path, "one\n");
	snprintf(path, sizeof(path), "%s/Makefile", dir);
	write_file(path, "all:\n");
	snprintf(path, sizeof(path), "%s/link", dir);
	assert_int_equal(symlink("sub/a", path), 0);

	assert_int_equal(sha256_tree(dir, h1, &newest), 0);
	assert_true(newest > 1600000000);

	/* Only times change: the same hash, an older newest time. */
	snprintf(cmd, sizeof(cmd), "find %s -exec touch -h -d @1600000000 {} +", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sha256_tree(dir, h2, &newest), 0);
	assert_string_equal(h1, h2);
	assert_int_equal(newest, 1600000000);

	/* A content change, a mode change: a different hash each time. */
	snprintf(path, sizeof(path), "%s/sub/a", dir);
	write_file(path, "two\n");
	utimes(path, tv);
	assert_int_equal(sha256_tree(dir, h2, &newest), 0);
	assert_string_not_equal(h1, h2);
	memcpy(h1, h2, sizeof(h1));
	chmod(path, 0755);
	assert_int_equal(sha256_tree(dir, h2, &newest), 0);
	assert_string_not_equal(h1, h2);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_timestamp(void **state)
{
	char buf[64];

	kernel_timestamp(1700000000, buf, sizeof(buf));
	assert_string_equal(buf, "Tue Nov 14 22:13:20 UTC 2023");
	kernel_timestamp(0, buf, sizeof(buf));
	assert_string_equal(buf, "Thu Jan  1 00:00:00 UTC 1970");
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha256_file),
		cmocka_unit_test(test_key_follows_inputs),
		cmocka_unit_test(test_inputs_text),
		cmocka_unit_test(test_manifest_roundtrip),
		cmocka_unit_test(test_manifest_malformed),
		cmocka_unit_test(test_tree_hash),
		cmocka_unit_test(test_timestamp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

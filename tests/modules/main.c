/* SPDX-License-Identifier: ISC */
/*
 * main.c: runs the one module suite this binary was linked with.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "harness.h"
#include "log.h"

int
main(void)
{
	SRunner		*sr;
	const char	*parent;
	int		 failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	/* What the modules warn of shows; their routine lines do not. */
	log_set_level(LOG_LEVEL_WARN);
	parent = tmpdir_parent();
	sr = srunner_create(module_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (strcmp(parent, "/tmp") != 0)
		tmpdir_remove(parent);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

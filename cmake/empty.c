/* empty.c: stands in for a module whose sources do not exist yet, so the build configures. */
typedef int warren_empty_translation_unit;

# cclient.mk: what every C program of hermit shares, included by their Makefiles.
# The client library (hermit_client.c, json.c) is compiled into each program, never
# installed as a library of its own: each module then links only libc (and libpam).
# Settings for tests only (build time, never the environment); unset, each program keeps the
# default its source states, once (hermit_client.h, and HERMIT_DEADLINE_MS in each program):
#   HERMIT_CONFIG_PATH   the unixd.toml the program reads
#   HERMIT_DEADLINE_MS   the deadline of one call to unixd
CCLIENT_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
TOP         := $(abspath $(CCLIENT_DIR)/..)
BUILD_DIR   ?= $(TOP)/build
CC          ?= cc

CCLIENT_SRC := $(CCLIENT_DIR)/hermit_client.c $(CCLIENT_DIR)/json.c
CCLIENT_HDR := $(CCLIENT_DIR)/hermit_client.h $(CCLIENT_DIR)/json.h $(CCLIENT_DIR)/cclient.mk

WARN     := -std=c99 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wconversion -Wno-sign-conversion
DEFS      = $(if $(HERMIT_CONFIG_PATH),-DHERMIT_CONFIG_PATH='"$(HERMIT_CONFIG_PATH)"') \
            $(if $(HERMIT_DEADLINE_MS),-DHERMIT_DEADLINE_MS=$(HERMIT_DEADLINE_MS))
INCLUDES := -I$(CCLIENT_DIR)
HARDEN   := -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong
LDHARDEN := -Wl,-z,relro,-z,now -Wl,--as-needed
SANITIZE := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

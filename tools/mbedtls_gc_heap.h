// The unix port's mbedTLS configuration (ports/unix/mbedtls/mbedtls_config_port.h, v1.28.0) with
// the bare-metal memory hooks on: mbedTLS allocates from the MicroPython GC heap, as it does on
// rp2 (the Pico W), where the ESP32 takes it from ESP-IDF's heap instead. `make mp32-picow`
// builds the 32-bit port with it for the Pico W row of `make bench`.
#ifndef MICROPY_INCLUDED_MBEDTLS_CONFIG_H
#define MICROPY_INCLUDED_MBEDTLS_CONFIG_H

#define MBEDTLS_CIPHER_MODE_CTR // needed for MICROPY_PY_CRYPTOLIB_CTR
#define MBEDTLS_TIMING_C
#define MICROPY_MBEDTLS_CONFIG_BARE_METAL (1)

#include "extmod/mbedtls/mbedtls_config_common.h"

// Entropy from the host, as the unix coverage variant does with the same hooks.
#undef MBEDTLS_ENTROPY_HARDWARE_ALT
#undef MBEDTLS_NO_PLATFORM_ENTROPY

#endif

// Package mac computes and verifies the message authentication codes that
// ISO 8583 links carry in field 64 (or 128), computes key check values, and
// wraps working keys under a terminal master key.
//
// # Algorithms
//
//   - [Alg1]: ISO/IEC 9797-1 MAC algorithm 1 with single DES, which is
//     ANSI X9.9 / FIPS 113 (the "DES CBC-MAC"). An 8-byte key; every block
//     is chained through DES and the last cipher block is the MAC. Still
//     found on old acquirer links and in terminal certification scripts;
//     single DES is broken, so it is here for compatibility only.
//   - [Alg3]: ISO/IEC 9797-1 MAC algorithm 3, which is ANSI X9.19, the
//     "retail MAC". A 16-byte (double-length) key K‖K': the chain runs under
//     K with single DES, and the last block gets a final decrypt under K' and
//     encrypt under K. This is the MAC most POS-to-acquirer ISO 8583 links
//     use today, usually with padding method 1 (zeros) or 2 (0x80).
//   - [CMAC]: AES-CMAC, RFC 4493 / NIST SP 800-38B (ISO/IEC 9797-1:2011 MAC
//     algorithm 5), with a 16-, 24- or 32-byte AES key: the MAC of links
//     migrated to AES keys, and the one TR-31/X9.143 version D key blocks
//     use. CMAC has its own padding and ignores the [Padding] argument.
//
// The DES algorithms produce an 8-byte MAC, CMAC a 16-byte one. An ISO 8583
// MAC field carries 8 bytes: [MACer.Verify] compares the leftmost len(mac)
// bytes, so a CMAC is checked in its leftmost-8-byte truncation (the usual
// ISO/IEC 9797-1 truncation, leftmost bits kept).
//
// # Hot path
//
// A [MACer] is built once per key with [New] and holds the expanded cipher
// state; [MACer.Sum] appends a MAC to a caller's buffer without allocating,
// and [MACer.Verify] does not allocate either. A MACer is safe for
// concurrent use by many goroutines.
//
// # Keys
//
// [KCV] and [KCVAES] compute key check values (ANSI X9.24-1:2017); a [KEK]
// wraps working keys the way POS terminals receive them at sign-on,
// TDES-ECB under the terminal master key. [ParseHexKey] reads a key typed
// by a person.
//
// [Algorithm] and [Padding] implement encoding.TextUnmarshaler with the
// friendly names of [ParseAlgorithm] and [ParsePadding], so they can sit in
// config structs.
//
// No error or String method of this package ever contains key bytes; they
// name lengths and positions only.
package mac

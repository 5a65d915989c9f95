/*
 * exif.h — a small, bounds-checked EXIF (TIFF structure) reader for what a
 * photo index needs: the orientation tag, the capture date and the camera.
 *
 * The reader never reads outside [data, data + size), follows at most the
 * IFD0 -> Exif sub-IFD link once, and treats any damage as "tag absent":
 * broken EXIF never makes a photo unreadable.  Thread-safe (no state).
 */
#ifndef CS_EXIF_H
#define CS_EXIF_H

#include <stddef.h>
#include <stdint.h>

typedef struct cs_exif {
    int orientation;  /* 1..8; 1 when absent or out of range */
    int has_orientation; /* 1 when IFD0 has an Orientation tag (any value) */
    char taken[20];   /* DateTimeOriginal (else DateTimeDigitized) as
                         "YYYY-MM-DD HH:MM:SS"; "" when absent or malformed */
    char camera[128]; /* Make + " " + Model (Model alone when it already starts
                         with Make), printable ASCII; "" when absent */
} cs_exif;

/* Sets *out to the defaults (orientation 1, empty strings). */
void cs_exif_init(cs_exif *out);

/*
 * Parses an EXIF block: a TIFF header ("II*\0" or "MM\0*") and its IFDs,
 * optionally preceded by the "Exif\0\0" identifier of a JPEG APP1 segment.
 * *out is initialised first, then filled with whatever could be read.
 * Returns 0 when a TIFF header was found, -1 otherwise.
 */
int cs_exif_parse(const uint8_t *data, size_t size, cs_exif *out);

#endif

/* events.h - the event files: M/events (every host) and M/hosts/<h>/events.
 *
 * One JSON object a line, from the moment the file is opened:
 *   {"host":..,"time":"RFC 3339 with ns","type":..,"action":..,"id":..,
 *    "name":..,"attributes":{..}}
 * plus lines of type "host" when a host's status changes.  Each reader
 * has its own bounded buffer (stream.h): a reader that does not read
 * loses its oldest lines, marked in band, and never holds up the daemon
 * or the other readers.
 */
#ifndef DOCKFS_EVENTS_H
#define DOCKFS_EVENTS_H

/* Watches the model (call before fleet_start). */
void events_init(void);
/* Ends every reader's stream (at unmount). */
void events_shutdown(void);

#endif

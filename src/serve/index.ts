/** The HTTP API and web page over a catalogue. */
export { createMusicServer, startServer, DEFAULT_LIMITS, type RunningServer, type ServeLimits, type ServeOptions } from './server.js';
export { pageHtml } from './page.js';

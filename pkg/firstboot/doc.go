// Package firstboot is the agent's first boot as a persisted state machine: identity read →
// shown → registered (DPS assigned the device) → hub connected → finalized. Each step is
// idempotent and the state is written atomically (and fsynced) before the next step starts, so a
// power cut or kill -9 at any moment leaves a state the next start completes; a finalized device
// never shows its code again.
package firstboot

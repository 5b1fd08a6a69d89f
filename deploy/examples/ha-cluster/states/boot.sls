# "EFI bootloader on second disk": an ESP with GRUB on every disk, each with its own id,
# and /boot/efi in fstab with nofail so the node boots with the first disk missing.
esp-on-both-disks:
  efi.bootloader:
    - disks: {{ pillar.esp.disks | tojson }}
    - efi_directory: /boot/efi

/etc/default/grub:
  grub.defaults:
    - settings: {{ pillar.grub.settings | tojson }}

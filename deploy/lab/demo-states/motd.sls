/etc/motd:
  file.managed:
    - contents: |
        {{ grains['hostname'] }}: managed by saline ({{ grains['os_pretty'] }}, kernel {{ grains['kernel'] }})
    - mode: "0644"

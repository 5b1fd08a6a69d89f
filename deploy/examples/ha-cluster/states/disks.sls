# md RAID1 arrays of the seed's layout. Never created over a device that carries data
# (raid.present refuses with blkid's evidence); members of an existing array are assembled.
{% for md, members in pillar.raid.arrays.items() %}
{{ md }}:
  raid.present:
    - level: 1
    - devices: {{ members | tojson }}
    - metadata: '{{ pillar.raid.metadata }}'
{% endfor %}
